-- The newest export applied (at most one row): file name and export time (ingest time if undated).
-- A refused, held or older file does not count: it brought no data.
select file_name, coalesce(export_time, ingested_at) as made
from meta.source_files
where status in ('loaded', 'unchanged')
order by made desc, file_id desc
limit 1;
