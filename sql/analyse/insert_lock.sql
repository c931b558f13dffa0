-- Records the lock of a timepoint (one row of meta.analysis_locks).
insert into meta.analysis_locks (
    timepoint, data_cut, content_hash, clean_hash, reached, randomised, forced, reason, locked_at,
    runback_version, results_hash
)
values (
    $timepoint, $cut, $content_hash, $clean_hash, $reached, $randomised, $forced, $reason,
    current_timestamp::timestamp, $runback_version, $results_hash
);
