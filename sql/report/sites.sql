-- Conduct of a cut by site (the export's data access group), pooled over the arms; one row per
-- site: screened, randomised, retained at the timepoint's visit, assessments up to that visit made
-- (and made inside their window), and data queries still open or resolved.
with site_of as (
    select record_id, max(nullif(redcap_data_access_group, '')) as site
    from clean.screening
    where valid_at(valid_from_cut, valid_to_cut, $cut)
    group by record_id
),

visit as (
    select step, day_offset from ref.visits where visit = $visit
),

screened as (
    select coalesce(site, '(no site)') as site, count(*) as screened
    from site_of
    group by all
),

participants as (
    select p.*, coalesce(s.site, '(no site)') as site
    from analysis.participants as p
    left join site_of as s using (record_id)
    where p.data_cut = $cut
),

retention as (
    select
        p.site,
        count(*) as randomised,
        count(*) filter (where retained_at(p.status, p.end_date, p.rand_date, v.day_offset)) as retained
    from participants as p
    cross join visit as v
    group by all
),

assessed as (  -- a visit is in its window when every assessment of it is (as the deviations count it)
    select p.site, o.record_id, o.visit, bool_and(o.in_window) as in_window
    from analysis.outcomes as o
    inner join participants as p using (record_id)
    cross join visit as v
    where
        o.data_cut = $cut and o.visit <> 'baseline' and o.visit_day is not null
        and o.step <= v.step
    group by all
),

windows as (
    select site, count(*) as assessed, count(*) filter (where in_window) as in_window
    from assessed
    group by all
),

queries as (
    select
        coalesce(s.site, '(no site)') as site,
        count(*) filter (where q.status <> 'resolved') as queries_open,
        count(*) filter (where q.status = 'resolved') as queries_resolved
    from analysis.data_queries as q
    left join site_of as s using (record_id)
    where q.data_cut = $cut
    group by all
),

final as (
    select
        s.site,
        s.screened,
        coalesce(r.randomised, 0) as randomised,
        coalesce(r.retained, 0) as retained,
        100.0 * r.retained / r.randomised as retained_pct,
        coalesce(w.assessed, 0) as assessed,
        coalesce(w.in_window, 0) as in_window,
        100.0 * w.in_window / w.assessed as in_window_pct,
        coalesce(q.queries_open, 0) as queries_open,
        coalesce(q.queries_resolved, 0) as queries_resolved
    from screened as s
    left join retention as r using (site)
    left join windows as w using (site)
    left join queries as q using (site)
)

select * from final order by site = '(no site)', site;
