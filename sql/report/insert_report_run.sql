-- Logs one rendered report: its audience, and the fingerprint of the allocation key that
-- unblinded it (if any).
insert into meta.report_runs (
    run_id, rendered_at, timepoint, data_cut, audience, blinded, file_name, sha256, key_fingerprint
)
select
    coalesce(max(run_id), 0) + 1,
    current_timestamp,
    $timepoint,
    $cut,
    $audience,
    $blinded,
    $file_name,
    $sha256,
    $key_fingerprint
from meta.report_runs;
