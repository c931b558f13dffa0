-- The analysed data cuts that have not published `$what` yet (listing or artifacts), oldest first.
select distinct p.data_cut as cut_id
from analysis.participants as p
where not exists (select 1 from meta.cut_outputs as o where o.cut_id = p.data_cut and o.what = $what)
order by cut_id;
