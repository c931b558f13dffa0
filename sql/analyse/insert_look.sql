-- Records one planned interim look of a timepoint (one row of meta.analysis_looks).
insert into meta.analysis_looks (
    timepoint, look, data_cut, evaluable, planned_total, fraction, planned_fraction, content_hash, looked_at
)
values (
    $timepoint, $look, $cut, $evaluable, $planned_total, $fraction, $planned_fraction, $content_hash,
    current_timestamp::timestamp
);
