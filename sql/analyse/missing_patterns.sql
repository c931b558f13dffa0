-- analysis.missing_patterns for a cut: per parameter x arm x pattern of assessed visits, over the visits
-- at which the parameter has any value in the cut (X assessed, . missed, - window not yet closed).
insert into analysis.missing_patterns
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
),

participants as (
    select * from analysis.participants where data_cut = $cut
),

measured as (
    select o.param, o.visit, v.sort
    from (select distinct param, visit from analysis.outcomes where data_cut = $cut) as o
    inner join ref.visits as v on o.visit = v.visit
),

marks as (
    select
        p.record_id,
        p.arm,
        m.param,
        m.sort,
        case
            when o.record_id is not null then 'X'
            when not window_closed(p.rand_date, v.window_high, (select cut_date from cut)) then '-'
            else '.'
        end as mark
    from participants as p
    inner join measured as m on true
    inner join ref.visits as v on m.visit = v.visit
    left join analysis.outcomes as o
        on o.data_cut = $cut and p.record_id = o.record_id and m.param = o.param and m.visit = o.visit
),

patterns as (
    select record_id, arm, param, string_agg(mark, '' order by sort) as pattern
    from marks
    group by record_id, arm, param
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
        count(*) as participants
    from patterns
    group by param, arm, pattern
)

select * from final;
