-- The lock of a timepoint (zero or one row).
select
    timepoint, data_cut, content_hash, clean_hash, reached, randomised, forced, reason, locked_at,
    runback_version, results_hash
from meta.analysis_locks
where timepoint = $timepoint;
