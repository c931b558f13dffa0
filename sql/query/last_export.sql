-- The newest export seen (at most one row): file name, export time (null when its name has
-- none) and ingest time; an undated file counts by its ingest time.
select file_name, export_time, ingested_at
from meta.source_files
order by coalesce(export_time, ingested_at) desc, file_id desc
limit 1;
