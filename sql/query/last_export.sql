-- The newest export seen (at most one row): file name and export time (ingest time if undated).
select file_name, coalesce(export_time, ingested_at) as made
from meta.source_files
order by made desc, file_id desc
limit 1;
