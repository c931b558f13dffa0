-- The data cuts whose analysis is in the warehouse, oldest first (one row per cut).
select distinct data_cut from analysis.participants order by data_cut;
