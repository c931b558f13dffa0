-- Records one export file (one row); returns its new id.
insert into meta.source_files
(file_id, file_name, path, sha256, bytes, rows, export_time, ingested_at, status, message, data_cut, dictionary_id)
select
    coalesce(max(file_id), 0) + 1, $file_name, $path, $sha256, $bytes, $rows, $export_time,
    current_timestamp, $status, $message, null, $dictionary_id
from meta.source_files
returning file_id;
