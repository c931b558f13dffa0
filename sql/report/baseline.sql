-- Table 1 rows of a cut: arm x characteristic.
select arm, characteristic, unit, sort, kind, n, mean, sd, count, pct
from analysis.baseline
where data_cut = $cut
order by sort, arm;
