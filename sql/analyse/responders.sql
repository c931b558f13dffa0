-- analysis.responders for a cut: per timepoint x parameter x arm x population, participants whose
-- change from baseline reaches the MCID in the better direction. Populations: ITT (all randomised)
-- and per protocol (adherent participants, assessment in its window).
insert into analysis.responders
with
outcomes as (
    select o.*, p.adherent
    from analysis.outcomes as o
    inner join analysis.participants as p using (data_cut, record_id)
    where o.data_cut = $cut and o.visit in ('week_8', 'month_6') and o.chg is not null
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
        count(*) filter (where case when r.better = 'lower' then -o.chg else o.chg end >= r.mcid) as responders,
        100.0 * count(*) filter (where case when r.better = 'lower' then -o.chg else o.chg end >= r.mcid)
        / count(*) as pct
    from populations as o
    inner join ref.params as r using (param)
    where r.mcid is not null
    group by o.visit, o.param, o.arm, o.population
)

select * from final;
