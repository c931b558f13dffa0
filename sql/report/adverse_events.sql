-- Adverse event counts of a cut: arm x dimension x category.
select * from analysis.adverse_events where data_cut = $cut order by dimension, category_sort, arm;
