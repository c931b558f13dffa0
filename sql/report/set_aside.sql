-- The assessments up to a timepoint that a cut's estimands set aside, by parameter and arm, for the
-- closed report: how many, of how many participants, and after which intercurrent event.
select
    s.param,
    p.label,
    p.sort,
    s.arm,
    count(*) as assessments,
    count(distinct s.record_id) as participants
from analysis.set_aside as s
inner join ref.params as p using (param)
where s.data_cut = $cut and s.step <= (select step from ref.visits where visit = $timepoint)
group by all
order by p.sort, s.arm;
