-- The newest export applied (at most one row): file name, export time (null when its name has
-- none) and ingest time; an undated file counts by its ingest time. A refused, held or older
-- file does not count: it brought no data.
select file_name, export_time, ingested_at
from meta.source_files
where list_contains($applied, status)
order by coalesce(export_time, ingested_at) desc, file_id desc
limit 1;
