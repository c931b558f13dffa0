-- The newest data cut (at most one row): id, clean and queries hashes.
select cut_id, clean_hash, queries_hash from meta.data_cuts order by cut_id desc limit 1;
