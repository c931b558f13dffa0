-- Stores the model results of a cut (one row per model x population x timepoint x parameter x term).
insert into analysis.model_results by name
select * from model_results_rows;
