-- How many fits the model results a cut shows came from (one row).
select count(distinct fit_hash) from analysis.model_results where data_cut = $cut;
