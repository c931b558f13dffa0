-- analysis.intercurrent_events for a cut: one row per participant x intercurrent event x kind (the
-- reason running stopped, or the kind of treatment), with its earliest date and how often recorded.
-- running_status says at each follow-up visit whether the participant still runs (the stop date is
-- repeated at later visits; one not known, a missing-data code, counts from the day before the visit
-- that reports the stop); co_intervention logs each treatment for back pain outside the trial.
insert into analysis.intercurrent_events
with
participants as (
    select record_id, arm
    from analysis.participants
    where data_cut = $cut
),

stopped as (
    select record_id, run_stop_reason as code, coalesce(run_stop_date, run_date - 1) as event_date
    from clean.running_status
    where valid_at(valid_from_cut, valid_to_cut, $cut) and not run_still
),

treated as (
    select record_id, cointv_type as code, cointv_start as event_date
    from clean.co_intervention
    where valid_at(valid_from_cut, valid_to_cut, $cut)
),

events as (
    select 'stopped_running' as intercurrent_event, 'run_stop_reason' as field, * from stopped
    union all
    select 'co_intervention', 'cointv_type', * from treated
),

final as (
    select
        $cut as data_cut,
        e.record_id,
        p.arm,
        e.intercurrent_event,
        coalesce(c.label, 'Not recorded') as kind,
        min(e.event_date) as first_date,
        count(*) as instances
    from events as e
    inner join participants as p using (record_id)
    left join ref.choices as c on e.field = c.field and e.code = c.code
    group by all
)

select * from final;
