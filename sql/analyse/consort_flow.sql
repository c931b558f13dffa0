-- analysis.consort_flow for a cut: one row per CONSORT box (stage x box x arm). Within a stage every
-- screened record (enrolment) or randomised participant (later stages) is in exactly one box;
-- 'exclusion reasons' count ticked reasons, which may overlap.
insert into analysis.consort_flow
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
),

screening as (
    select * from clean.screening where valid_at(valid_from_cut, valid_to_cut, $cut)
),

participants as (
    select * from analysis.participants where data_cut = $cut
),

enrolment as (
    select
        s.record_id,
        case
            when p.record_id is not null then 'Randomised'
            when s.eligible = false then 'Excluded: not eligible'
            when s.consent = false then 'Excluded: declined to take part'
            else 'Awaiting randomisation'
        end as box
    from screening as s
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
    where data_cut = $cut
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
    where data_cut = $cut
    group by record_id, param
),

set_aside as (
    -- per participant x parameter: the first follow-up step whose value an estimand's strategy set aside
    select record_id, param, min(step) as first_set_aside
    from analysis.set_aside
    where data_cut = $cut
    group by record_id, param
),

first_visit as (
    select window_high from ref.visits where step = 1
),

follow_up as (
    select
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
            when not window_closed(p.rand_date, v.window_high, (select cut_date from cut)) then 'Not yet due'
            else 'Missed'
        end as box
    from participants as p
    cross join ref.visits as v
    left join assessed as a on p.record_id = a.record_id
    where v.step > 0
),

analysed as (
    -- the populations of the primary analysis (MMRM, ITT) of each primary outcome at each timepoint:
    -- a baseline value, the stratum, and a value (not set aside) at a post-baseline visit up to the
    -- timepoint's visit; everyone else is not analysed, for the first reason that applies
    -- (schemas/plan.py NOT_ANALYSED)
    select
        p.record_id,
        p.arm,
        t.visit as timepoint,
        t.sort,
        r.param,
        r.sort as param_sort,
        case
            when not coalesce(a.has_baseline, false) then 'Not analysed: no baseline value'
            when p.sex is null then 'Not analysed: no stratum (sex)'
            when a.first_follow_up <= t.step then 'Analysed'
            when s.first_set_aside <= t.step then 'Not analysed: stopped running before any follow-up value'
            when
                p.status in ('Withdrew consent', 'Lost to follow-up', 'Excluded after randomisation')
                and a.first_follow_up is null
                then 'Not analysed: left the study before any follow-up value'
            when
                not window_closed(p.rand_date, (select window_high from first_visit), (select cut_date from cut))
                then 'Not analysed: no follow-up visit due yet'
            else 'Not analysed: no follow-up value'
        end as box
    from participants as p
    cross join ref.visits as t
    cross join ref.params as r
    left join assessed_param as a on p.record_id = a.record_id and r.param = a.param
    left join set_aside as s on p.record_id = s.record_id and r.param = s.param
    where t.timepoint and r."primary"
),

boxes as (
    select 1 as stage_order, 'Assessed for eligibility' as stage, 'Screened' as box, null as arm, count(*) as n
    from screening
    union all
    select 2, 'Enrolment', box, null, count(*) from enrolment group by box
    union all
    select 3, 'Exclusion reasons (may overlap)', c.label, null, count(*)
    from reasons as r
    inner join ref.checkbox_columns as c using ("column")
    inner join enrolment as e using (record_id)
    where r.ticked and e.box like 'Excluded%'
    group by c.label
    union all
    select 4, 'Allocation', 'Allocated', arm, count(*) from participants group by arm
    union all
    select
        5, 'Programme',
        case when received_programme then 'Received the programme' else 'Did not receive the programme' end,
        arm, count(*)
    from participants group by all
    union all
    select 5 + sort, 'Follow-up: ' || visit, box, arm, count(*) from follow_up group by all
    union all
    select
        20 + 10 * sort + param_sort, 'Analysis (primary MMRM, ITT): ' || timepoint || ' ' || param, box, arm, count(*)
    from analysed group by all
),

final as (
    select $cut as data_cut, stage_order, stage, box, arm, n from boxes
)

select * from final;
