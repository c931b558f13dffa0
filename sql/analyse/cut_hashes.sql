-- A data cut's identity (zero or one row): its clean-layer hash and the newest cut.
select cut_id, clean_hash, (select max(cut_id) from meta.data_cuts) as newest
from meta.data_cuts
where cut_id = coalesce($cut, (select max(cut_id) from meta.data_cuts));
