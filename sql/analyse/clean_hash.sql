-- The content hash of a data cut's clean layer (one row), recorded with its lock.
select clean_hash from meta.data_cuts where cut_id = $cut;
