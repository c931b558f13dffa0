-- Descriptions of the analysis tables' columns: shown by `runback export` in data_dictionary.csv
-- and by `select * from duckdb_columns()`.
comment on column analysis.participants.data_cut is 'Data cut the row belongs to';
comment on column analysis.participants.record_id is 'REDCap record id of the participant';
comment on column analysis.participants.arm is
'Arm allocated: LL lower limb, LE lumbar extensor, LS lumbar stabilisation';
comment on column analysis.participants.sex is 'Sex (Male, Female), the stratification factor';
comment on column analysis.participants.age is 'Age at screening (years)';
comment on column analysis.participants.rand_date is 'Date of randomisation';
comment on column analysis.participants.supervised_done is 'Supervised sessions completed (of 16 planned)';
comment on column analysis.participants.home_done is 'Home sessions completed';
comment on column analysis.participants.adherence is 'Supervised sessions completed / 16';
comment on column analysis.participants.adherent is 'At least 12 of 16 supervised sessions completed';
comment on column analysis.participants.received_programme is 'At least one supervised session completed';
comment on column analysis.participants.status is 'Status at the end of the study, or Ongoing';
comment on column analysis.participants.end_date is 'Date of completion or last contact';

comment on column analysis.outcomes.data_cut is 'Data cut the row belongs to';
comment on column analysis.outcomes.record_id is 'REDCap record id of the participant';
comment on column analysis.outcomes.arm is 'Arm allocated (LL, LE, LS)';
comment on column analysis.outcomes.visit is 'Visit: baseline, week_4, week_8, month_3, month_6';
comment on column analysis.outcomes.step is 'Assessment step: 0 baseline to 4 month 6';
comment on column analysis.outcomes.param is 'Parameter: PSFS, NPRS_RUN, NPRS_AVG, ODI, KE_TORQUE, STEP_LEN, SORENSEN';
comment on column analysis.outcomes.aval is 'Value of the parameter (derivations in docs/analysis.md)';
comment on column analysis.outcomes.base is 'Baseline value of the parameter';
comment on column analysis.outcomes.chg is 'Change from baseline (aval - base); null at baseline';
comment on column analysis.outcomes.adt is 'Assessment date';
comment on column analysis.outcomes.visit_day is 'Days from randomisation to the assessment';
comment on column analysis.outcomes.in_window is 'The assessment lies inside its visit window';

comment on column analysis.baseline.arm is 'Arm (LL, LE, LS) or All';
comment on column analysis.baseline.characteristic is 'Baseline characteristic';
comment on column analysis.baseline.kind is 'continuous (mean, SD) or count (n, %)';
comment on column analysis.baseline.n is 'Participants with a value';

comment on column analysis.outcome_summary.n is 'Participants with a value at the visit';
comment on column analysis.outcome_summary.chg_n is 'Participants with a change from baseline';
comment on column analysis.outcome_summary.chg_ci_low is 'Lower bound of the 95% t-interval of the mean change';
comment on column analysis.outcome_summary.chg_ci_high is 'Upper bound of the 95% t-interval of the mean change';

comment on column analysis.consort_flow.stage is 'CONSORT stage';
comment on column analysis.consort_flow.box is 'Box within the stage';
comment on column analysis.consort_flow.arm is 'Arm, or null for boxes before allocation';
comment on column analysis.consort_flow.n is 'Records (screened) or participants (randomised) in the box';

comment on column analysis.adherence.adherent is 'Participants with at least 12 of 16 supervised sessions';

comment on column analysis.adverse_events.dimension is 'Any, Severity, Seriousness or Relatedness';
comment on column analysis.adverse_events.events is 'Adverse events in the category';
comment on column analysis.adverse_events.participants is 'Participants with at least one event in the category';

comment on column analysis.missing_data.expected is 'Assessments expected (window closed by the cut date, or received)';
comment on column analysis.missing_data.received is 'Assessments received (any outcome value at the visit)';

comment on column analysis.responders.population is 'ITT, or Per protocol (adherent, in-window assessments)';
comment on column analysis.responders.responders is
'Participants whose change reaches the MCID in the better direction';

comment on column analysis.data_queries.query_id is
'Stable id of the query (form, record, event, instance, column, check)';
comment on column analysis.data_queries.action is 'quarantine (row held back) or flag (row loaded)';
comment on column analysis.data_queries.since_cut is 'First data cut the query appeared in';
comment on column analysis.data_queries.status is 'new, open (seen at the previous cut) or resolved (gone now)';

comment on column analysis.model_results.model is 'ANCOVA, GEE or Mixed model';
comment on column analysis.model_results.population is 'ITT or Per protocol';
comment on column analysis.model_results.timepoint is 'week_8 or month_6';
comment on column analysis.model_results.term is
'Contrast (LE - LL), slope in an arm (slope LE) or slope difference (slope LE - LL)';
comment on column analysis.model_results.status is 'ok, or not fitted (see note)';
