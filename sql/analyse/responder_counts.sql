-- The responder counts of a cut that its between-arm comparisons read (one row per timepoint x
-- parameter x population x arm).
select timepoint, param, population, arm, n, responders
from analysis.responders
where data_cut = $cut
order by timepoint, param, population, arm;
