-- Adherence per arm of a cut.
select * from analysis.adherence where data_cut = $cut order by arm;
