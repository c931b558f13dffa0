-- analysis.adverse_events for a cut: per arm x dimension x category, events and participants with one.
insert into analysis.adverse_events
with
participants as (
    select record_id, arm from analysis.participants where data_cut = $cut
),

arm_size as (
    select arm, count(*) as randomised from participants group by arm
),

events as (
    select p.arm, e.record_id, e.ae_severity, e.ae_serious, e.ae_related
    from clean.adverse_event as e
    inner join participants as p using (record_id)
    where valid_at(e.valid_from_cut, e.valid_to_cut, $cut)
),

categorised as (
    select arm, record_id, 'Any' as dimension, 'Any adverse event' as category, 0 as category_sort from events
    union all
    select
        e.arm, e.record_id, 'Severity', coalesce(c.label, 'Not recorded'),
        coalesce(try_cast(e.ae_severity as integer), 99)
    from events as e
    left join ref.choices as c on c.field = 'ae_severity' and e.ae_severity = c.code
    union all
    select
        arm, record_id, 'Seriousness', case when ae_serious then 'Serious' else 'Not serious' end,
        case when ae_serious then 1 else 2 end
    from events
    union all
    select
        e.arm, e.record_id, 'Relatedness', coalesce(c.label, 'Not recorded'),
        coalesce(try_cast(e.ae_related as integer), 99)
    from events as e
    left join ref.choices as c on c.field = 'ae_related' and e.ae_related = c.code
),

final as (
    select
        $cut as data_cut,
        c.arm,
        c.dimension,
        c.category,
        c.category_sort,
        count(*) as events,
        count(distinct c.record_id) as participants,
        100.0 * count(distinct c.record_id) / any_value(s.randomised) as participants_pct
    from categorised as c
    inner join arm_size as s using (arm)
    group by c.arm, c.dimension, c.category, c.category_sort
)

select * from final;
