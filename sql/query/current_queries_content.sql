-- The data queries open at a cut, without their history (since_cut, status and resolved queries
-- depend on the cuts loaded before), in a fixed order (one row per query): what their content hash hashes.
select * exclude (data_cut, since_cut, status)
from analysis.data_queries
where data_cut = $cut and status <> 'resolved'
order by all;
