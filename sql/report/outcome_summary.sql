-- Descriptive statistics of a cut: arm x visit x parameter, with the parameter's label and order.
select s.*, p.label, p.unit, p."primary", p.better, p.mcid, p.sort as param_sort
from analysis.outcome_summary as s
inner join ref.params as p using (param)
where s.data_cut = $cut
order by p.sort, s.step, s.arm;
