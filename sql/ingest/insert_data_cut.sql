-- Records a new data cut (one row), with the fingerprint of the allocation key it was masked with.
insert into meta.data_cuts (cut_id, file_id, export_time, clean_hash, queries_hash, key_fingerprint)
values ($cut_id, $file_id, $export_time, $clean_hash, $queries_hash, $key_fingerprint);
