-- An export file already seen with these bytes (at most one row): id, status, cut, message.
select file_id, status, data_cut, message
from meta.source_files
where sha256 = $sha256
order by file_id
limit 1;
