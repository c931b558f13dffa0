-- analysis.consort_flow for a cut: one row per CONSORT box (stage x box x arm). Within a stage every
-- screened record (enrolment) or randomised participant (later stages) is in exactly one box;
-- 'exclusion reasons' count ticked reasons, which may overlap.
-- Counted afresh ($since_cut null), or updated from the rows ($rows_cut) that the earlier cut
-- $since_cut shows, when only the closed windows changed since: the participants whose windows
-- closed in between are taken off as of $since_cut's date and added as of the cut's.
insert into analysis.consort_flow_rows
with
dates as (
    -- the dates boxes are counted at, with their sign: the cut's (+1) and, updating, $since_cut's (-1)
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

screening as (
    select s.*
    from clean.screening as s
    where
        valid_at(s.valid_from_cut, s.valid_to_cut, $cut)
        and ($since_cut is null or s.record_id in (select p.record_id from participants as p))
),

enrolment as (
    select
        d.sign,
        s.record_id,
        case
            when p.record_id is not null then 'Randomised'
            when s.eligible = false then 'Excluded: not eligible'
            when s.consent = false then 'Excluded: declined to take part'
            else 'Awaiting randomisation'
        end as box
    from screening as s
    cross join dates as d
    left join participants as p using (record_id)
),

reasons as (
    unpivot (select record_id, columns('^excl_reason___') from screening)
    on columns(* exclude record_id)
    into name "column" value ticked
),

assessed as (
    -- per participant: the visits assessed (any parameter) and the latest step
    select record_id, list(distinct visit) as visits, max(step) as last_step
    from analysis.outcomes
    where data_cut = $cut and record_id in (select p.record_id from participants as p)
    group by record_id
),

assessed_param as (
    -- per participant x parameter: a baseline value, and the first post-baseline step with a value
    select
        record_id,
        param,
        bool_or(visit = 'baseline') as has_baseline,
        min(step) filter (where step >= 1) as first_follow_up
    from analysis.outcomes
    where data_cut = $cut and record_id in (select p.record_id from participants as p)
    group by record_id, param
),

follow_up as (
    select
        d.sign,
        p.record_id,
        p.arm,
        v.visit,
        v.sort,
        case
            when list_contains(a.visits, v.visit) then 'Assessed'
            when
                p.status in ('Withdrew consent', 'Lost to follow-up', 'Excluded after randomisation')
                and coalesce(a.last_step, -1) <= v.step  -- nothing assessed at a later visit
                and (p.end_date is null or p.end_date <= p.rand_date + v.window_high::integer)
                then case p.status when 'Withdrew consent' then 'Withdrew' else p.status end
            when not window_closed(p.rand_date, v.window_high, d.cut_date) then 'Not yet due'
            else 'Missed'
        end as box
    from participants as p
    cross join dates as d
    cross join ref.visits as v
    left join assessed as a on p.record_id = a.record_id
    where v.step > 0
),

analysed as (
    -- the populations of the primary analysis (MMRM, ITT) of each primary outcome at each timepoint:
    -- a baseline value, the stratum, and a value at a post-baseline visit up to the timepoint's visit
    select
        d.sign,
        p.record_id,
        p.arm,
        t.visit as timepoint,
        t.sort,
        r.param,
        r.sort as param_sort,
        case
            when not coalesce(a.has_baseline, false) or p.sex is null then 'Not analysed: no baseline value or stratum'
            when a.first_follow_up <= t.step then 'Analysed'
            else 'Not analysed: no follow-up value'
        end as box
    from participants as p
    cross join dates as d
    cross join ref.visits as t
    cross join ref.params as r
    left join assessed_param as a on p.record_id = a.record_id and r.param = a.param
    where t.visit in ('week_8', 'month_6') and r."primary"
),

boxes as (
    select
        1 as stage_order, 'Assessed for eligibility' as stage, 'Screened' as box, null as arm,
        coalesce(sum(sign), 0) as n
    from enrolment
    union all
    select 2, 'Enrolment', box, null, sum(sign) from enrolment group by box
    union all
    select 3, 'Exclusion reasons (may overlap)', c.label, null, sum(e.sign)
    from reasons as r
    inner join ref.checkbox_columns as c using ("column")
    inner join enrolment as e using (record_id)
    where r.ticked and e.box like 'Excluded%'
    group by c.label
    union all
    select 4, 'Allocation', 'Allocated', p.arm, sum(d.sign)
    from participants as p cross join dates as d group by p.arm
    union all
    select
        5, 'Programme',
        case when p.received_programme then 'Received the programme' else 'Did not receive the programme' end,
        p.arm, sum(d.sign)
    from participants as p cross join dates as d group by all
    union all
    select 5 + sort, 'Follow-up: ' || visit, box, arm, sum(sign) from follow_up group by all
    union all
    select
        20 + 10 * sort + param_sort, 'Analysis (primary MMRM, ITT): ' || timepoint || ' ' || param, box, arm, sum(sign)
    from analysed group by all
    union all
    select stage_order, stage, box, arm, n from analysis.consort_flow_rows where data_cut = $rows_cut
),

final as (
    select $cut as data_cut, stage_order, stage, box, arm, sum(n)::bigint as n
    from boxes
    group by stage_order, stage, box, arm
    having sum(n) != 0 or stage_order = 1  -- none screened yet: still the first box, at 0
)

select * from final;
