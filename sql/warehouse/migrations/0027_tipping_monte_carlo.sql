-- The delta-adjusted MI's tipping delta carries its Monte-Carlo error and the imputations it used,
-- and its two-dimensional tipping grid is stored as rows with the shift of each arm of the term.
alter table analysis.model_results add column mc_error double;
alter table analysis.model_results add column imputations integer;
alter table analysis.model_results add column shift_later double;
alter table analysis.model_results add column shift_earlier double;
comment on column analysis.model_results.mc_error is
'Monte-Carlo error (jackknife SE over the imputations) of a tipping delta, in MCID units (delta-adjusted MI)';
comment on column analysis.model_results.imputations is 'Imputations the delta-adjusted MI drew';
comment on column analysis.model_results.shift_later is
'MCIDs by which the imputed values of the term''s first-named arm are made worse (tipping delta and grid rows)';
comment on column analysis.model_results.shift_earlier is
'MCIDs by which the imputed values of the term''s second-named arm are made worse (tipping delta and grid rows)';
