-- The newest export time among files that were applied (one row; null when none).
select max(export_time) from meta.source_files where status in ('loaded', 'unchanged');
