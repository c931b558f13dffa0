-- analysis.responders for a cut: per timepoint x parameter x arm x population, participants whose
-- change from baseline reaches the MCID in the better direction. Populations: ITT (every randomised
-- participant due at the timepoint's visit: its window closed by the cut's date, or assessed; one
-- without a change there is a non-responder), observed cases (those with a change; a sensitivity
-- analysis) and per protocol (adherent participants with a change assessed in its window). A
-- parameter counts at a visit where it has a value in the cut (as in missing_patterns.sql).
-- A change equal to the MCID counts: changes are compared with a tolerance of 1e-9 points, far
-- below any recorded precision, so that an exact +2 computed in binary floating point as
-- 1.9999999999999996 (PSFS means of thirds) is a response.
insert into analysis.responders
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
),

outcomes as (
    select * from analysis.outcomes
    where data_cut = $cut and visit in (select visit from ref.visits where timepoint)
),

assessed as (
    select distinct record_id, visit from outcomes
),

measured as (
    select distinct param, visit from outcomes
),

due as (
    select p.record_id, p.arm, p.adherent, v.visit
    from analysis.participants as p
    cross join ref.visits as v
    left join assessed as a on p.record_id = a.record_id and v.visit = a.visit
    where
        p.data_cut = $cut and v.timepoint
        and (a.record_id is not null or window_closed(p.rand_date, v.window_high, (select cut_date from cut)))
),

changes as (
    select
        d.*,
        r.param,
        o.in_window,
        o.chg is not null as observed,
        coalesce(case when r.better = 'lower' then -o.chg else o.chg end >= r.mcid - 1e-9, false) as responded
    from due as d
    inner join measured as m on d.visit = m.visit
    inner join ref.params as r on m.param = r.param
    left join outcomes as o on d.record_id = o.record_id and d.visit = o.visit and r.param = o.param
    where r.mcid is not null
),

populations as (
    select *, 'ITT' as population from changes
    union all
    select *, 'Observed cases' from changes where observed
    union all
    select *, 'Per protocol' from changes where observed and adherent and in_window
),

final as (
    select
        $cut as data_cut,
        visit as timepoint,
        param,
        arm,
        population,
        count(*) as n,
        count(*) filter (where responded) as responders,
        100.0 * count(*) filter (where responded) / count(*) as pct,
        count(*) filter (where observed) as observed
    from populations
    group by visit, param, arm, population
)

select * from final;
