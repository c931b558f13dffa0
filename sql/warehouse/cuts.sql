-- The data cuts, oldest first, and whether each is analysed (its participants are in the analysis) (one row per cut).
select
    c.cut_id,
    c.cut_id in (select p.data_cut from analysis.participants as p) as analysed
from meta.data_cuts as c
order by c.cut_id;
