-- The planned interim looks taken at a timepoint, one row per look, in order.
select look, data_cut, evaluable, planned_total, fraction, planned_fraction, content_hash
from meta.analysis_looks
where timepoint = $timepoint
order by look;
