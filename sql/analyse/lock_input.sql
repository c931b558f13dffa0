-- The analysis input of a cut whose content a lock hashes: outcomes with their participants' covariates.
select
    o.record_id, o.arm, o.visit, o.param, o.aval, o.base, o.chg, o.in_window, p.sex, p.adherent, p.status
from analysis.outcomes as o
inner join analysis.participants as p using (data_cut, record_id)
where o.data_cut = $cut
order by o.record_id, o.visit, o.param;
