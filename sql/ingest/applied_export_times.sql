-- The export times of the files applied (one row per distinct time; files without one left out).
select distinct export_time
from meta.source_files
where list_contains($applied, status) and export_time is not null;
