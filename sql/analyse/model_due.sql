-- The visits each randomised participant of a cut was due at (one row per participant x visit): the
-- visit's window closed by the cut's date, or the participant assessed at it (as analysis.missing_data
-- counts them). The delta-adjusted MI imputes only values due and missing.
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
),

assessed as (
    select distinct record_id, visit from analysis.outcomes where data_cut = $cut
),

final as (
    select p.record_id, v.visit
    from analysis.participants as p
    cross join ref.visits as v
    left join assessed as a on p.record_id = a.record_id and v.visit = a.visit
    where
        p.data_cut = $cut
        and v.step is not null
        and (a.record_id is not null or window_closed(p.rand_date, v.window_high, (select cut_date from cut)))
)

select * from final;
