-- The export files behind a cut, oldest first: one row per file applied up to the cut's file.
select file_id, file_name, sha256, rows, status, strftime(export_time, '%Y-%m-%d %H:%M') as export_time
from meta.source_files
where
    file_id <= (select file_id from meta.data_cuts where cut_id = $cut)
    and list_contains($applied, status)
order by file_id;
