-- Adverse events of a cut, one row each: day of onset from randomisation, description, grading.
-- No record id and no date: the listing cannot be linked back to a person.
select
    p.arm,
    e.ae_onset - p.rand_date as onset_day,
    e.ae_desc as description,
    sev.label as severity,
    e.ae_serious as serious,
    rel.label as relatedness
from clean.adverse_event as e
inner join analysis.participants as p on p.data_cut = $cut and e.record_id = p.record_id
left join ref.choices as sev on sev.field = 'ae_severity' and e.ae_severity = sev.code
left join ref.choices as rel on rel.field = 'ae_related' and e.ae_related = rel.code
where valid_at(e.valid_from_cut, e.valid_to_cut, $cut)
order by e.ae_serious desc, try_cast(e.ae_severity as integer) desc, onset_day asc, description asc;
