-- The intercurrent events of a cut by arm, for the closed report: one row per event x kind (the
-- reason running stopped, the kind of treatment; 'Any' for any kind) x arm, with the participants
-- of the arm who met it and their share of those randomised to the arm.
with
randomised as (
    select arm, count(*) as randomised
    from analysis.participants
    where data_cut = $cut
    group by arm
),

events as (
    select
        intercurrent_event,
        case when grouping(kind) = 1 then 'Any' else kind end as kind,
        arm,
        count(distinct record_id) as participants
    from analysis.intercurrent_events
    where data_cut = $cut
    group by grouping sets ((intercurrent_event, kind, arm), (intercurrent_event, arm))
),

final as (
    select
        e.intercurrent_event,
        e.kind,
        e.arm,
        e.participants,
        100.0 * e.participants / r.randomised as participants_pct
    from events as e
    inner join randomised as r using (arm)
)

select * from final
order by intercurrent_event, kind != 'Any', kind, arm;
