-- Responders at the MCID of a cut for one timepoint.
select r.*, p.label, p.mcid, p.better, p.sort as param_sort
from analysis.responders as r
inner join ref.params as p using (param)
where r.data_cut = $cut and r.timepoint = $timepoint
order by p.sort, r.population, r.arm;
