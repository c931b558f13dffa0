-- One analysis table's rows of a cut, without the cut's id, in a fixed order (one row per row):
-- what its content hash hashes.
select * exclude (data_cut)
from analysis.{{ table }}
where data_cut = $cut
order by all;
