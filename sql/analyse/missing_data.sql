-- analysis.missing_data for a cut: per arm x visit, assessments expected (the visit window has
-- closed by the cut's date, or the visit was assessed) and received.
insert into analysis.missing_data
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
),

participants as (
    select * from analysis.participants where data_cut = $cut
),

assessed as (
    select distinct record_id, visit from analysis.outcomes where data_cut = $cut
),

due as (
    select
        p.arm,
        v.visit,
        v.step,
        a.record_id is not null as received,
        a.record_id is not null or window_closed(p.rand_date, v.window_high, (select cut_date from cut)) as expected
    from participants as p
    cross join ref.visits as v
    left join assessed as a on p.record_id = a.record_id and v.visit = a.visit
    where v.step is not null
),

final as (
    select
        $cut as data_cut,
        arm,
        visit,
        step,
        count(*) filter (where expected) as expected,
        count(*) filter (where received) as received,
        count(*) filter (where expected and not received) as missing,
        100.0 * count(*) filter (where received) / nullif(count(*) filter (where expected), 0) as received_pct
    from due
    group by arm, visit, step
)

select * from final;
