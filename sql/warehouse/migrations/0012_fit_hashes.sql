-- The key of the fit each model result came from, so that a new cut copies the results of the
-- fits whose input rows, specification and code are unchanged instead of fitting them again.
alter table analysis.model_results add column fit_hash varchar;

comment on column analysis.model_results.fit_hash is
'SHA-256 of the fitting code, the model, population, timepoint, parameter, arms and the input rows (models.fit_key)';
