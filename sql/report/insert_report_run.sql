-- Logs one rendered report: its audience, the fingerprint of the allocation key that unblinded it
-- (if any), and the reason the data monitoring committee asked p-values at an unplanned cut (if any).
insert into meta.report_runs (
    run_id, rendered_at, timepoint, data_cut, audience, blinded, file_name, sha256, key_fingerprint, dmc_reason
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
    $key_fingerprint,
    $dmc_reason
from meta.report_runs;
