-- analysis.set_aside for a cut: one row per participant x visit x parameter assessed after an
-- intercurrent event whose strategy in the plan (ref.strategies.sets_aside: hypothetical or while on
-- treatment) makes the value no value of the variable; outcomes.sql leaves these out of every analysis.
insert into analysis.set_aside
with
events as (
    select record_id, arm, intercurrent_event, min(first_date) as event_date
    from analysis.intercurrent_events
    where data_cut = $cut and first_date is not null
    group by all
),

assessments as (
    -- each assessment form's own date (as in outcomes.sql)
    select record_id, event, 'nprs' as form, nprs_date as adt
    from clean.nprs where valid_at(valid_from_cut, valid_to_cut, $cut)
    union all
    select record_id, event, 'psfs', psfs_date
    from clean.psfs where valid_at(valid_from_cut, valid_to_cut, $cut)
    union all
    select record_id, event, 'odi', odi_date
    from clean.odi where valid_at(valid_from_cut, valid_to_cut, $cut)
    union all
    select record_id, event, 'physical_tests', pt_date
    from clean.physical_tests where valid_at(valid_from_cut, valid_to_cut, $cut)
),

final as (
    select
        $cut as data_cut,
        e.record_id,
        e.arm,
        v.visit,
        v.step,
        s.param,
        a.adt,
        e.intercurrent_event,
        e.event_date,
        s.strategy
    from events as e
    inner join ref.strategies as s on e.intercurrent_event = s.intercurrent_event and s.sets_aside
    inner join assessments as a on e.record_id = a.record_id and s.form = a.form
    inner join ref.visits as v on a.event = v.event
    where v.step > 0 and a.adt > e.event_date
    qualify
        row_number() over (
            partition by e.record_id, v.visit, s.param order by e.event_date, e.intercurrent_event
        ) = 1
)

select * from final;
