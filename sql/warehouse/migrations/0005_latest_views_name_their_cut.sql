-- The latest.* views say which data cut they show: each keeps the data_cut column (the newest cut
-- analysed), so a reader of latest.* can tell an older cut from tonight's.
create or replace view latest.participants as
select * from analysis.participants
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.outcomes as
select * from analysis.outcomes
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.baseline as
select * from analysis.baseline
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.outcome_summary as
select * from analysis.outcome_summary
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.consort_flow as
select * from analysis.consort_flow
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.adherence as
select * from analysis.adherence
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.adverse_events as
select * from analysis.adverse_events
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.missing_data as
select * from analysis.missing_data
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.responders as
select * from analysis.responders
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.data_queries as
select * from analysis.data_queries
where data_cut = (select max(data_cut) from analysis.participants);
create or replace view latest.model_results as
select * from analysis.model_results
where data_cut = (select max(data_cut) from analysis.participants);
