-- Responders compared between each pair of arms for one timepoint of a cut (one row per parameter x
-- population x pair of arms).
select c.*, p.sort as param_sort, p.label, p.mcid, p.better
from analysis.responder_comparisons as c
inner join ref.params as p using (param)
where c.data_cut = $cut and c.timepoint = $timepoint
order by p.sort, c.population, c.term;
