-- A data cut's analysis table shares the rows of the previous analysed cut's when its input is
-- unchanged (the table's key, `flows/analyse/sharing.py`): a night whose export changes nothing a
-- table reads writes no rows for it. Each analysis table becomes a view, analysis.<table>, over its
-- stored rows, analysis.<table>_rows, and analysis.cut_tables, which says for every analysed cut
-- and table which cut's stored rows it shows. Readers keep reading analysis.<table> by data_cut;
-- each view shows what its table held (every cut of its rows shows its own).
create table analysis.cut_tables (
    data_cut integer not null,
    table_name varchar not null,
    rows_cut integer not null,
    input_hash varchar,
    primary key (data_cut, table_name)
);
comment on table analysis.cut_tables is
'For every analysed data cut and analysis table: the cut whose stored rows (analysis.<table>_rows) it shows';
comment on column analysis.cut_tables.data_cut is 'The analysed data cut';
comment on column analysis.cut_tables.table_name is 'The analysis table (the view analysis.<table_name>)';
comment on column analysis.cut_tables.rows_cut is
'The cut whose refresh computed the rows shown (data_cut itself, or an earlier cut with the same input)';
comment on column analysis.cut_tables.input_hash is
'SHA-256 of what the table read (code, reference and clean tables, upstream tables, closed windows); null: none';

-- The content hash of each clean form as of a cut (meta.data_cuts.clean_hash combines them).
create table meta.cut_forms (
    cut_id integer not null,
    form varchar not null,
    content_hash varchar not null,
    primary key (cut_id, form)
);
comment on table meta.cut_forms is
'Content hash of each clean form as of a data cut (what the keys of the analysis tables read)';
comment on column meta.cut_forms.cut_id is 'The data cut';
comment on column meta.cut_forms.form is 'The form (clean.<form>)';
comment on column meta.cut_forms.content_hash is 'Order-free checksum of the keys and row hashes valid as of the cut';


alter table analysis.participants rename to participants_rows;
comment on table analysis.participants_rows is
'Stored rows of analysis.participants, under the cut that computed them';
comment on column analysis.participants_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'participants', data_cut as rows_cut, null as input_hash
from analysis.participants_rows;
create view analysis.participants as
select r.* replace (m.data_cut as data_cut)
from analysis.participants_rows as r
inner join analysis.cut_tables as m on m.table_name = 'participants' and r.data_cut = m.rows_cut;

-- analysis.outcomes' stored rows are written without a primary key: keeping its index cost about a
-- second per cut at 20,000 participants (its key, record x visit x parameter, is unique by derivation).
create table analysis.outcomes_rows (
    data_cut integer not null,
    record_id varchar not null,
    arm varchar not null,
    visit varchar not null,
    step integer not null,
    param varchar not null,
    aval double not null,
    base double,
    chg double,
    adt date,
    visit_day integer,
    in_window boolean
);
insert into analysis.outcomes_rows select * from analysis.outcomes;
drop table analysis.outcomes;
comment on table analysis.outcomes_rows is
'Stored rows of analysis.outcomes, under the cut that computed them';
comment on column analysis.outcomes_rows.data_cut is 'The data cut whose refresh computed the rows';
comment on column analysis.outcomes_rows.record_id is 'REDCap record id of the participant';
comment on column analysis.outcomes_rows.arm is 'Arm allocated, as its blinded letter (A, B, C)';
comment on column analysis.outcomes_rows.visit is 'Visit: baseline, week_4, week_8, month_3, month_6';
comment on column analysis.outcomes_rows.step is 'Assessment step: 0 baseline to 4 month 6';
comment on column analysis.outcomes_rows.param is
'Parameter: PSFS, NPRS_RUN, NPRS_AVG, ODI, KE_TORQUE, STEP_LEN, SORENSEN';
comment on column analysis.outcomes_rows.aval is 'Value of the parameter (derivations in docs/analysis.md)';
comment on column analysis.outcomes_rows.base is 'Baseline value of the parameter';
comment on column analysis.outcomes_rows.chg is 'Change from baseline (aval - base); null at baseline';
comment on column analysis.outcomes_rows.adt is 'Assessment date';
comment on column analysis.outcomes_rows.visit_day is 'Days from randomisation to the assessment';
comment on column analysis.outcomes_rows.in_window is 'The assessment lies inside its visit window';
insert into analysis.cut_tables
select distinct data_cut, 'outcomes', data_cut as rows_cut, null as input_hash
from analysis.outcomes_rows;
create view analysis.outcomes as
select r.* replace (m.data_cut as data_cut)
from analysis.outcomes_rows as r
inner join analysis.cut_tables as m on m.table_name = 'outcomes' and r.data_cut = m.rows_cut;

alter table analysis.baseline rename to baseline_rows;
comment on table analysis.baseline_rows is
'Stored rows of analysis.baseline, under the cut that computed them';
comment on column analysis.baseline_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'baseline', data_cut as rows_cut, null as input_hash
from analysis.baseline_rows;
create view analysis.baseline as
select r.* replace (m.data_cut as data_cut)
from analysis.baseline_rows as r
inner join analysis.cut_tables as m on m.table_name = 'baseline' and r.data_cut = m.rows_cut;

alter table analysis.outcome_summary rename to outcome_summary_rows;
comment on table analysis.outcome_summary_rows is
'Stored rows of analysis.outcome_summary, under the cut that computed them';
comment on column analysis.outcome_summary_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'outcome_summary', data_cut as rows_cut, null as input_hash
from analysis.outcome_summary_rows;
create view analysis.outcome_summary as
select r.* replace (m.data_cut as data_cut)
from analysis.outcome_summary_rows as r
inner join analysis.cut_tables as m on m.table_name = 'outcome_summary' and r.data_cut = m.rows_cut;

alter table analysis.consort_flow rename to consort_flow_rows;
comment on table analysis.consort_flow_rows is
'Stored rows of analysis.consort_flow, under the cut that computed them';
comment on column analysis.consort_flow_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'consort_flow', data_cut as rows_cut, null as input_hash
from analysis.consort_flow_rows;
create view analysis.consort_flow as
select r.* replace (m.data_cut as data_cut)
from analysis.consort_flow_rows as r
inner join analysis.cut_tables as m on m.table_name = 'consort_flow' and r.data_cut = m.rows_cut;

alter table analysis.adherence rename to adherence_rows;
comment on table analysis.adherence_rows is
'Stored rows of analysis.adherence, under the cut that computed them';
comment on column analysis.adherence_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'adherence', data_cut as rows_cut, null as input_hash
from analysis.adherence_rows;
create view analysis.adherence as
select r.* replace (m.data_cut as data_cut)
from analysis.adherence_rows as r
inner join analysis.cut_tables as m on m.table_name = 'adherence' and r.data_cut = m.rows_cut;

alter table analysis.adverse_events rename to adverse_events_rows;
comment on table analysis.adverse_events_rows is
'Stored rows of analysis.adverse_events, under the cut that computed them';
comment on column analysis.adverse_events_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'adverse_events', data_cut as rows_cut, null as input_hash
from analysis.adverse_events_rows;
create view analysis.adverse_events as
select r.* replace (m.data_cut as data_cut)
from analysis.adverse_events_rows as r
inner join analysis.cut_tables as m on m.table_name = 'adverse_events' and r.data_cut = m.rows_cut;

alter table analysis.missing_data rename to missing_data_rows;
comment on table analysis.missing_data_rows is
'Stored rows of analysis.missing_data, under the cut that computed them';
comment on column analysis.missing_data_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'missing_data', data_cut as rows_cut, null as input_hash
from analysis.missing_data_rows;
create view analysis.missing_data as
select r.* replace (m.data_cut as data_cut)
from analysis.missing_data_rows as r
inner join analysis.cut_tables as m on m.table_name = 'missing_data' and r.data_cut = m.rows_cut;

alter table analysis.missing_patterns rename to missing_patterns_rows;
comment on table analysis.missing_patterns_rows is
'Stored rows of analysis.missing_patterns, under the cut that computed them';
comment on column analysis.missing_patterns_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'missing_patterns', data_cut as rows_cut, null as input_hash
from analysis.missing_patterns_rows;
create view analysis.missing_patterns as
select r.* replace (m.data_cut as data_cut)
from analysis.missing_patterns_rows as r
inner join analysis.cut_tables as m on m.table_name = 'missing_patterns' and r.data_cut = m.rows_cut;

alter table analysis.responders rename to responders_rows;
comment on table analysis.responders_rows is
'Stored rows of analysis.responders, under the cut that computed them';
comment on column analysis.responders_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'responders', data_cut as rows_cut, null as input_hash
from analysis.responders_rows;
create view analysis.responders as
select r.* replace (m.data_cut as data_cut)
from analysis.responders_rows as r
inner join analysis.cut_tables as m on m.table_name = 'responders' and r.data_cut = m.rows_cut;

alter table analysis.data_queries rename to data_queries_rows;
comment on table analysis.data_queries_rows is
'Stored rows of analysis.data_queries, under the cut that computed them';
comment on column analysis.data_queries_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'data_queries', data_cut as rows_cut, null as input_hash
from analysis.data_queries_rows;
create view analysis.data_queries as
select r.* replace (m.data_cut as data_cut)
from analysis.data_queries_rows as r
inner join analysis.cut_tables as m on m.table_name = 'data_queries' and r.data_cut = m.rows_cut;

alter table analysis.model_results rename to model_results_rows;
comment on table analysis.model_results_rows is
'Stored rows of analysis.model_results, under the cut that computed them';
comment on column analysis.model_results_rows.data_cut is 'The data cut whose refresh computed the rows';
insert into analysis.cut_tables
select distinct data_cut, 'model_results', data_cut as rows_cut, null as input_hash
from analysis.model_results_rows;
create view analysis.model_results as
select r.* replace (m.data_cut as data_cut)
from analysis.model_results_rows as r
inner join analysis.cut_tables as m on m.table_name = 'model_results' and r.data_cut = m.rows_cut;
comment on view analysis.participants is
'analysis.participants of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.participants.data_cut is 'Data cut the row belongs to';
comment on view analysis.outcomes is
'analysis.outcomes of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.outcomes.data_cut is 'Data cut the row belongs to';
comment on view analysis.baseline is
'analysis.baseline of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.baseline.data_cut is 'Data cut the row belongs to';
comment on view analysis.outcome_summary is
'analysis.outcome_summary of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.outcome_summary.data_cut is 'Data cut the row belongs to';
comment on view analysis.consort_flow is
'analysis.consort_flow of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.consort_flow.data_cut is 'Data cut the row belongs to';
comment on view analysis.adherence is
'analysis.adherence of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.adherence.data_cut is 'Data cut the row belongs to';
comment on view analysis.adverse_events is
'analysis.adverse_events of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.adverse_events.data_cut is 'Data cut the row belongs to';
comment on view analysis.missing_data is
'analysis.missing_data of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.missing_data.data_cut is 'Data cut the row belongs to';
comment on view analysis.missing_patterns is
'analysis.missing_patterns of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.missing_patterns.data_cut is 'Data cut the row belongs to';
comment on view analysis.responders is
'analysis.responders of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.responders.data_cut is 'Data cut the row belongs to';
comment on view analysis.data_queries is
'analysis.data_queries of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.data_queries.data_cut is 'Data cut the row belongs to';
comment on view analysis.model_results is
'analysis.model_results of every analysed data cut (stored once, shared by cuts with the same input)';
comment on column analysis.model_results.data_cut is 'Data cut the row belongs to';
