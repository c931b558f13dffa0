-- The newest data cut when none of its analysis has been written (zero or one row).
select c.cut_id
from meta.data_cuts as c
where
    c.cut_id = (select max(cut_id) from meta.data_cuts)
    and not exists (select 1 from analysis.participants as p where p.data_cut = c.cut_id)
    and not exists (select 1 from analysis.model_results as m where m.data_cut = c.cut_id);
