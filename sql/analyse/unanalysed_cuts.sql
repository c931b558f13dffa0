-- The data cuts none of whose analysis has been written, oldest first (one row per cut).
select c.cut_id
from meta.data_cuts as c
where
    not exists (select 1 from analysis.participants as p where p.data_cut = c.cut_id)
    and not exists (select 1 from analysis.model_results as m where m.data_cut = c.cut_id)
order by c.cut_id;
