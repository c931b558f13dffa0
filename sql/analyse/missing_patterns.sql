-- analysis.missing_patterns for a cut: per parameter x arm x pattern of assessed visits, over the visits
-- at which the parameter has any value in the cut (X assessed, . missed, - window not yet closed).
-- Counted afresh ($since_cut null), or updated from the rows ($rows_cut) that the earlier cut
-- $since_cut shows, when only the closed windows changed since: the patterns of the participants
-- whose windows closed in between are taken off as of $since_cut's date and added as of the cut's.
insert into analysis.missing_patterns_rows
with
dates as (
    -- the dates patterns are counted at, with their sign: the cut's (+1) and, updating, $since_cut's (-1)
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

measured as (
    select o.param, o.visit, v.sort
    from (select distinct param, visit from analysis.outcomes where data_cut = $cut) as o
    inner join ref.visits as v on o.visit = v.visit
),

marks as (
    select
        d.sign,
        p.record_id,
        p.arm,
        m.param,
        m.sort,
        case
            when o.record_id is not null then 'X'
            when not window_closed(p.rand_date, v.window_high, d.cut_date) then '-'
            else '.'
        end as mark
    from participants as p
    cross join dates as d
    inner join measured as m on true
    inner join ref.visits as v on m.visit = v.visit
    left join analysis.outcomes as o
        on o.data_cut = $cut and p.record_id = o.record_id and m.param = o.param and m.visit = o.visit
),

patterns as (
    select sign, record_id, arm, param, string_agg(mark, '' order by sort) as pattern
    from marks
    group by sign, record_id, arm, param
),

counted as (
    select param, arm, pattern, sum(sign) as participants
    from patterns
    group by param, arm, pattern
    union all
    select param, arm, pattern, participants
    from analysis.missing_patterns_rows
    where data_cut = $rows_cut
),

final as (
    select
        $cut as data_cut,
        param,
        arm,
        pattern,
        case
            when not contains(pattern, 'X') then 'none'
            when not contains(pattern, '.') then 'complete'
            when not regexp_matches(pattern, '\.[-.]*X') then 'monotone'
            else 'intermittent'
        end as kind,
        sum(participants)::bigint as participants
    from counted
    group by param, arm, pattern
    having sum(participants) != 0
)

select * from final;
