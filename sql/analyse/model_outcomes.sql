-- The models' input for a cut: analysis.outcomes rows (participant x visit x parameter), in a fixed order.
select record_id, arm, visit, step, param, aval, base, chg, in_window
from analysis.outcomes
where data_cut = $cut
order by try_cast(record_id as integer), record_id, param, step;
