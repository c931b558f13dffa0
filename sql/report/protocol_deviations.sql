-- Protocol deviations of a cut, one row per deviation: an assessment made outside its visit
-- window, a participant whose programme ended with fewer supervised sessions than adherence
-- needs (ref.settings), or a randomisation whose allocation changed between exports (a version
-- of clean.randomisation that replaced another, or a change held back as a data query).
with cut as (
    select cast(export_time as date) as cut_date from meta.data_cuts where cut_id = $cut
),

participants as (
    select * from analysis.participants where data_cut = $cut
),

settings as (
    select
        max(value) filter (where name = 'supervised_planned') as supervised_planned,
        max(value) filter (where name = 'adherent_min') as adherent_min
    from ref.settings
),

programme as (
    select window_high from ref.visits where visit = 'programme'
),

out_of_window as (
    select o.record_id, o.visit, o.step, min(o.visit_day) as visit_day
    from analysis.outcomes as o
    where o.data_cut = $cut and o.visit <> 'baseline' and o.visit_day is not null and not o.in_window
    group by all
),

window_deviations as (
    select
        1 as kind_sort, 'Assessment outside its window' as kind, o.record_id, o.visit, o.step, o.visit_day,
        v.window_low, v.window_high, cast(null as integer) as supervised_done,
        cast(null as integer) as supervised_planned, cast(null as integer) as since_cut, cast(null as varchar) as status
    from out_of_window as o
    inner join ref.visits as v using (visit)
),

adherence_deviations as (
    select
        2, 'Non-adherence to the programme', p.record_id, null, null, null, null, null, p.supervised_done,
        cast(s.supervised_planned as integer), null, null
    from participants as p
    cross join settings as s
    cross join programme as w
    cross join cut as c
    where
        p.supervised_done < s.adherent_min
        and (window_closed(p.rand_date, w.window_high, c.cut_date) or p.status <> 'Ongoing')
),

versions as (
    select
        record_id, rand_group, valid_from_cut,
        lag(rand_group) over (partition by record_id order by valid_from_cut) as before
    from clean.randomisation
    where valid_from_cut <= $cut
),

allocation_changes as (
    select record_id, valid_from_cut as since_cut, 'loaded' as status
    from versions
    where before is not null and before is distinct from rand_group
    union all
    select record_id, since_cut, status
    from analysis.data_queries
    where data_cut = $cut and "check" = 'randomisation_changed' and "column" = 'rand_group'
),

allocation_deviations as (
    select
        3, 'Allocation changed between exports', record_id, null, null, null, null, null, null, null, since_cut,
        status
    from allocation_changes
),

deviations as (
    select * from window_deviations
    union all
    select * from adherence_deviations
    union all
    select * from allocation_deviations
),

final as (
    select d.*, p.arm
    from deviations as d
    left join participants as p using (record_id)
)

select * from final order by kind_sort, try_cast(record_id as integer), record_id, step;
