-- analysis.missing_data for a cut: per arm x visit, assessments expected (the visit window has
-- closed by the cut's date, or the visit was assessed) and received.
-- Counted afresh ($since_cut null), or updated from the rows ($rows_cut) that the earlier cut
-- $since_cut shows, when only the closed windows changed since: the participants whose windows
-- closed in between are taken off as of $since_cut's date and added as of the cut's.
insert into analysis.missing_data_rows
with
dates as (
    -- the dates assessments are counted at, with their sign: the cut's (+1) and, updating, $since_cut's (-1)
    select case when cut_id = $cut then 1 else -1 end as sign, export_time::date as cut_date
    from meta.data_cuts
    where cut_id = $cut or cut_id = $since_cut
),

participants as (
    select p.*
    from analysis.participants as p
    where
        p.data_cut = $cut
        and (
            $since_cut is null
            or window_closed_between(
                p.rand_date,
                (select d.cut_date from dates as d where d.sign = -1),
                (select d.cut_date from dates as d where d.sign = 1)
            )
        )
),

assessed as (
    select distinct record_id, visit
    from analysis.outcomes
    where data_cut = $cut and record_id in (select p.record_id from participants as p)
),

due as (
    select
        d.sign,
        p.arm,
        v.visit,
        v.step,
        a.record_id is not null as received,
        a.record_id is not null or window_closed(p.rand_date, v.window_high, d.cut_date) as expected
    from participants as p
    cross join dates as d
    cross join ref.visits as v
    left join assessed as a on p.record_id = a.record_id and v.visit = a.visit
    where v.step is not null
),

counted as (
    select
        arm,
        visit,
        step,
        coalesce(sum(sign) filter (where expected), 0) as expected,
        coalesce(sum(sign) filter (where received), 0) as received,
        coalesce(sum(sign) filter (where expected and not received), 0) as missing
    from due
    group by arm, visit, step
    union all
    select arm, visit, step, expected, received, missing
    from analysis.missing_data_rows
    where data_cut = $rows_cut
),

summed as (
    select
        arm,
        visit,
        step,
        sum(expected)::bigint as expected,
        sum(received)::bigint as received,
        sum(missing)::bigint as missing
    from counted
    group by arm, visit, step
),

final as (
    select
        $cut as data_cut,
        arm,
        visit,
        step,
        expected,
        received,
        missing,
        100.0 * received / nullif(expected, 0) as received_pct
    from summed
)

select * from final;
