-- Logs one rendered report.
insert into meta.report_runs (run_id, rendered_at, timepoint, data_cut, blinded, file_name, sha256)
select coalesce(max(run_id), 0) + 1, current_timestamp, $timepoint, $cut, $blinded, $file_name, $sha256
from meta.report_runs;
