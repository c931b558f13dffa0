-- The hash of a data cut's data queries (one row), to tell whether an export changes them.
select queries_hash from meta.data_cuts where cut_id = $cut;
