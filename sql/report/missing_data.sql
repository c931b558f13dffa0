-- Expected and received assessments of a cut: arm x visit.
select * from analysis.missing_data where data_cut = $cut order by step, arm;
