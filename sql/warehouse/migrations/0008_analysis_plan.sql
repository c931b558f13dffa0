-- The analysis plan in the model results: the visit a contrast is at, the df of its t inference,
-- the plan's role of each result and the multiplicity-adjusted p-value of the primary family.
-- (latest.model_results shows them: a DuckDB view binds its * when it is queried.)
alter table analysis.model_results add column visit varchar;
alter table analysis.model_results add column df double;
alter table analysis.model_results add column role varchar;
alter table analysis.model_results add column p_adjusted double;

comment on column analysis.model_results.model is
'MMRM (primary), ANCOVA, GEE (the published trial''s analysis, Cai 2017), Mixed model (random intercept)';
comment on column analysis.model_results.term is
'Contrast between two arms, later minus earlier (B - A), slope in an arm (slope B) or slope difference (slope C - B)';
comment on column analysis.model_results.visit is
'The visit a contrast is at (MMRM: each post-baseline visit; ANCOVA: the timepoint); null for slopes';
comment on column analysis.model_results.df is
'Degrees of freedom of the t (MMRM: Satterthwaite; ANCOVA: residual); null where z is used (GEE, mixed)';
comment on column analysis.model_results.role is
'The analysis plan''s role of the result (schemas/plan.py): primary, secondary or sensitivity';
comment on column analysis.model_results.p_adjusted is
'Holm-adjusted p over the primary family (primary outcomes, every pair of arms, week 8); else null';

comment on table analysis.model_results is
'Model estimates per cut (MMRM, ANCOVA, GEE, mixed model, delta MI) with their role, or why not fitted';
comment on view latest.model_results is
'Model estimates with their role in the plan, for the newest data cut analysed (its data_cut says which)';
