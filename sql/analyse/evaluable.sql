-- The information of a look (one row): participants of the cut with a value of any of the given
-- outcomes at the visit.
select count(distinct record_id) as evaluable
from analysis.outcomes
where data_cut = $cut and visit = $visit and list_contains($params, param) and aval is not null;
