-- Responders compared by multiple imputation (a sensitivity analysis): the rows of population
-- 'Multiple imputation' carry the imputations pooled and the values imputed.
alter table analysis.responder_comparisons add column imputations integer;
alter table analysis.responder_comparisons add column imputed integer;
comment on column analysis.responder_comparisons.population is
'Population, as in analysis.responders, or Multiple imputation (the delta-adjusted MI''s imputations, no shift)';
comment on column analysis.responder_comparisons.imputations is
'Imputations pooled by Rubin''s rules (Multiple imputation rows; null for the others)';
comment on column analysis.responder_comparisons.imputed is
'Values due and missing imputed in the two arms compared (Multiple imputation rows; null for the others)';
comment on column analysis.responder_comparisons.rd_ci_low is
'Lower 95% limit of the risk difference: Newcombe''s hybrid score (method 10); by MI, Rubin''s rules, t on Rubin''s df';
comment on column analysis.responder_comparisons.rd_ci_high is
'Upper 95% limit of the risk difference: Newcombe''s hybrid score (method 10); by MI, Rubin''s rules, t on Rubin''s df';
