-- Each analysis table is a table again, one set of rows per analysed cut: the rows a cut shared
-- with an earlier cut (migration 0016, analysis.cut_tables) are copied under the cut itself, the
-- views over the stored rows are dropped and the stored rows take the table's name back. What only
-- the sharing and the fit cache read goes: analysis.cut_tables, meta.cut_forms,
-- meta.reference_written, analysis.model_results.fit_hash and the macro window_closed_between.

insert into analysis.participants_rows
select r.* replace (m.data_cut as data_cut)
from analysis.participants_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'participants' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.participants;
alter table analysis.participants_rows rename to participants;
comment on table analysis.participants is
'One row per randomised participant and data cut (ADaM ADSL-like)';
comment on column analysis.participants.data_cut is 'Data cut the row belongs to';

insert into analysis.outcomes_rows
select r.* replace (m.data_cut as data_cut)
from analysis.outcomes_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'outcomes' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.outcomes;
alter table analysis.outcomes_rows rename to outcomes;
comment on table analysis.outcomes is
'One row per participant, visit and outcome parameter with a value (ADaM BDS-like)';
comment on column analysis.outcomes.data_cut is 'Data cut the row belongs to';

insert into analysis.baseline_rows
select r.* replace (m.data_cut as data_cut)
from analysis.baseline_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'baseline' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.baseline;
alter table analysis.baseline_rows rename to baseline;
comment on table analysis.baseline is 'Table 1: baseline characteristics by arm and overall';
comment on column analysis.baseline.data_cut is 'Data cut the row belongs to';

insert into analysis.outcome_summary_rows
select r.* replace (m.data_cut as data_cut)
from analysis.outcome_summary_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'outcome_summary' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.outcome_summary;
alter table analysis.outcome_summary_rows rename to outcome_summary;
comment on table analysis.outcome_summary is
'Descriptive statistics per arm, visit and parameter, with change from baseline';
comment on column analysis.outcome_summary.data_cut is 'Data cut the row belongs to';

insert into analysis.consort_flow_rows
select r.* replace (m.data_cut as data_cut)
from analysis.consort_flow_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'consort_flow' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.consort_flow;
alter table analysis.consort_flow_rows rename to consort_flow;
comment on table analysis.consort_flow is 'CONSORT flow: one row per box (stage x box x arm)';
comment on column analysis.consort_flow.data_cut is 'Data cut the row belongs to';

insert into analysis.adherence_rows
select r.* replace (m.data_cut as data_cut)
from analysis.adherence_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'adherence' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.adherence;
alter table analysis.adherence_rows rename to adherence;
comment on table analysis.adherence is 'Adherence to the exercise programme per arm';
comment on column analysis.adherence.data_cut is 'Data cut the row belongs to';

insert into analysis.adverse_events_rows
select r.* replace (m.data_cut as data_cut)
from analysis.adverse_events_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'adverse_events' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.adverse_events;
alter table analysis.adverse_events_rows rename to adverse_events;
comment on table analysis.adverse_events is 'Adverse events per arm, dimension and category';
comment on column analysis.adverse_events.data_cut is 'Data cut the row belongs to';

insert into analysis.missing_data_rows
select r.* replace (m.data_cut as data_cut)
from analysis.missing_data_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'missing_data' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.missing_data;
alter table analysis.missing_data_rows rename to missing_data;
comment on table analysis.missing_data is 'Assessments expected and received per arm and visit';
comment on column analysis.missing_data.data_cut is 'Data cut the row belongs to';

insert into analysis.missing_patterns_rows
select r.* replace (m.data_cut as data_cut)
from analysis.missing_patterns_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'missing_patterns' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.missing_patterns;
alter table analysis.missing_patterns_rows rename to missing_patterns;
comment on table analysis.missing_patterns is
'Per parameter x arm x pattern: participants with that pattern of visits';
comment on column analysis.missing_patterns.data_cut is 'Data cut the row belongs to';

insert into analysis.responders_rows
select r.* replace (m.data_cut as data_cut)
from analysis.responders_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'responders' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.responders;
alter table analysis.responders_rows rename to responders;
comment on table analysis.responders is
'Participants reaching the MCID per timepoint, parameter, arm and population';
comment on column analysis.responders.data_cut is 'Data cut the row belongs to';

insert into analysis.data_queries_rows
select r.* replace (m.data_cut as data_cut)
from analysis.data_queries_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'data_queries' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.data_queries;
alter table analysis.data_queries_rows rename to data_queries;
comment on table analysis.data_queries is
'Data queries (quarantined or flagged form rows) of a cut, with their status';
comment on column analysis.data_queries.data_cut is 'Data cut the row belongs to';

insert into analysis.model_results_rows
select r.* replace (m.data_cut as data_cut)
from analysis.model_results_rows as r
inner join analysis.cut_tables as m
    on m.table_name = 'model_results' and r.data_cut = m.rows_cut and m.data_cut != m.rows_cut;
drop view analysis.model_results;
alter table analysis.model_results_rows rename to model_results;
comment on table analysis.model_results is
'Model estimates per cut (MMRM, ANCOVA, GEE, mixed model, delta MI) with their role, or why not fitted';
comment on column analysis.model_results.data_cut is 'Data cut the row belongs to';

alter table analysis.model_results drop column fit_hash;
drop table analysis.cut_tables;
drop table meta.cut_forms;
drop table meta.reference_written;
drop macro window_closed_between;
