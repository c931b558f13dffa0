-- Estimands (ICH E9(R1), schemas/plan.py ESTIMANDS): the strategy the plan declares for each
-- outcome and intercurrent event, the intercurrent events each participant met (from the trial's
-- forms running_status and co_intervention), and the values a strategy sets aside before the models.
create table ref.strategies (
    param varchar not null, form varchar not null, intercurrent_event varchar not null,
    strategy varchar not null, sets_aside boolean not null,
    primary key (param, intercurrent_event)
);
comment on table ref.strategies is
'The plan''s strategy for each outcome and intercurrent event (schemas/plan.py ESTIMANDS)';
comment on column ref.strategies.param is 'Outcome parameter (ref.params)';
comment on column ref.strategies.form is 'The form the parameter is assessed on (its date is the assessment date)';
comment on column ref.strategies.intercurrent_event is 'Intercurrent event code (schemas/plan.py INTERCURRENT_EVENTS)';
comment on column ref.strategies.strategy is
'treatment policy, hypothetical, composite or while on treatment';
comment on column ref.strategies.sets_aside is
'Whether the strategy sets aside the values assessed after the event (hypothetical, while on treatment)';

create table analysis.intercurrent_events (
    data_cut integer not null, record_id varchar not null, arm varchar not null,
    intercurrent_event varchar not null, kind varchar not null, first_date date, instances integer not null
);
create view latest.intercurrent_events as
select * from analysis.intercurrent_events
where data_cut = (select max(data_cut) from analysis.participants);
comment on table analysis.intercurrent_events is
'Per participant x intercurrent event x kind: the intercurrent events a randomised participant met';
comment on view latest.intercurrent_events is
'Intercurrent events per participant, for the newest data cut analysed (its data_cut column says which)';
comment on column analysis.intercurrent_events.data_cut is 'Data cut the row belongs to';
comment on column analysis.intercurrent_events.record_id is 'REDCap record id of the participant';
comment on column analysis.intercurrent_events.arm is 'Arm allocated, as the warehouse holds it';
comment on column analysis.intercurrent_events.intercurrent_event is
'Intercurrent event code: stopped_running or co_intervention (schemas/plan.py INTERCURRENT_EVENTS)';
comment on column analysis.intercurrent_events.kind is
'The reason running stopped, or the kind of treatment (the form''s choice label)';
comment on column analysis.intercurrent_events.first_date is
'Earliest date recorded: running stopped, or treatment started';
comment on column analysis.intercurrent_events.instances is
'Times recorded (visits reporting it, or treatments logged)';

create table analysis.set_aside (
    data_cut integer not null, record_id varchar not null, arm varchar not null, visit varchar not null,
    step integer not null, param varchar not null, adt date not null, intercurrent_event varchar not null,
    event_date date not null, strategy varchar not null
);
create view latest.set_aside as
select * from analysis.set_aside
where data_cut = (select max(data_cut) from analysis.participants);
comment on table analysis.set_aside is
'Per participant x visit x parameter: an assessment the strategy of an intercurrent event sets aside';
comment on view latest.set_aside is
'Assessments set aside, for the newest data cut analysed (its data_cut column says which)';
comment on column analysis.set_aside.data_cut is 'Data cut the row belongs to';
comment on column analysis.set_aside.record_id is 'REDCap record id of the participant';
comment on column analysis.set_aside.arm is 'Arm allocated, as the warehouse holds it';
comment on column analysis.set_aside.visit is 'Visit of the assessment (ref.visits)';
comment on column analysis.set_aside.step is 'Assessment step of the visit (baseline = 0)';
comment on column analysis.set_aside.param is 'Outcome parameter (ref.params)';
comment on column analysis.set_aside.adt is 'Date of the assessment';
comment on column analysis.set_aside.intercurrent_event is 'The intercurrent event that sets it aside';
comment on column analysis.set_aside.event_date is 'Date of the intercurrent event (running stopped)';
comment on column analysis.set_aside.strategy is 'The plan''s strategy for the event and parameter';
