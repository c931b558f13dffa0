-- Model results of a cut for one timepoint, with the parameter's label and order.
select m.*, p.label, p.unit, p."primary", p.better, p.mcid, p.sort as param_sort
from analysis.model_results as m
inner join ref.params as p using (param)
where m.data_cut = $cut and m.timepoint = $timepoint
order by p.sort, m.model, m.population, m.term;
