-- analysis.responders for a cut: per timepoint x parameter x arm x population, participants whose
-- change from baseline reaches the MCID in the better direction. Populations: ITT (all randomised)
-- and per protocol (adherent participants, assessment in its window). A change equal to the MCID counts:
-- changes are compared with a tolerance of 1e-9 points, far below any recorded precision, so that an
-- exact +2 computed in binary floating point as 1.9999999999999996 (PSFS means of thirds) is a response.
insert into analysis.responders
with
outcomes as (
    select o.*, p.adherent
    from analysis.outcomes as o
    inner join analysis.participants as p using (data_cut, record_id)
    where o.data_cut = $cut and o.visit in (select visit from ref.visits where timepoint) and o.chg is not null
),

populations as (
    select *, 'ITT' as population from outcomes
    union all
    select *, 'Per protocol' from outcomes where adherent and in_window
),

final as (
    select
        $cut as data_cut,
        o.visit as timepoint,
        o.param,
        o.arm,
        o.population,
        count(*) as n,
        count(*) filter (where o.improvement >= r.mcid - 1e-9) as responders,
        100.0 * count(*) filter (where o.improvement >= r.mcid - 1e-9) / count(*) as pct
    from (
        select p.*, case when r.better = 'lower' then -p.chg else p.chg end as improvement
        from populations as p
        inner join ref.params as r using (param)
    ) as o
    inner join ref.params as r using (param)
    where r.mcid is not null
    group by o.visit, o.param, o.arm, o.population
)

select * from final;
