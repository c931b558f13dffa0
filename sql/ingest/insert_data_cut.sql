-- Records a new data cut (one row).
insert into meta.data_cuts (cut_id, file_id, export_time, clean_hash, queries_hash)
values ($cut_id, $file_id, $export_time, $clean_hash, $queries_hash);
