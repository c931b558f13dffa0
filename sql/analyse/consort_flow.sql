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

follow_up as (
    select
        p.record_id,
        p.arm,
        v.visit,
        v.sort,
        case
            when exists (
                select 1 from analysis.outcomes as o
                where o.data_cut = $cut and o.record_id = p.record_id and o.visit = v.visit
            ) then 'Assessed'
            when p.status = 'Withdrew consent' then 'Withdrew'
            when p.status = 'Lost to follow-up' then 'Lost to follow-up'
            when p.status = 'Excluded after randomisation' then 'Excluded after randomisation'
            when p.rand_date + v.window_high::integer >= (select cut_date from cut) then 'Not yet due'
            else 'Missed'
        end as box
    from participants as p
    cross join ref.visits as v
    where v.step > 0
),

analysed as (
    select
        p.record_id,
        p.arm,
        case
            when count(o.chg) filter (where o.param in (select param from ref.params where "primary")) > 0
                then 'Analysed'
            else 'Not analysed (no follow-up of a primary outcome)'
        end as box
    from participants as p
    left join analysis.outcomes as o on o.data_cut = $cut and p.record_id = o.record_id
    group by p.record_id, p.arm
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
    select 20, 'Analysis', box, arm, count(*) from analysed group by all
),

final as (
    select $cut as data_cut, stage_order, stage, box, arm, n from boxes
)

select * from final;
