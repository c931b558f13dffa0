-- Reference tables (from the study definition), analysis tables (one set of rows per data cut)
-- and `latest.*` views of the newest cut analysed.
create schema if not exists ref;
create schema if not exists latest;

-- Whether a clean row is valid as of a data cut.
create or replace macro valid_at(from_cut, to_cut, cut) as from_cut <= cut and (to_cut is null or to_cut > cut);

create table ref.arms (code varchar primary key, arm varchar not null, name varchar not null, sort integer not null);
create table ref.visits (
    event varchar primary key, visit varchar not null, step integer, day_offset double,
    window_low double, window_high double, sort integer not null
);
create table ref.params (
    param varchar primary key, label varchar not null, unit varchar, source varchar,
    better varchar not null, mcid double, "primary" boolean not null, sort integer not null
);
create table ref.choices (field varchar, code varchar, label varchar, primary key (field, code));
create table ref.checkbox_columns (field varchar, "column" varchar primary key, code varchar, label varchar);
create table ref.t_quantiles (df integer primary key, t975 double not null);
create table ref.settings (name varchar primary key, value double not null);

-- One row per randomised participant (ADaM ADSL-like).
create table analysis.participants (
    data_cut integer not null,
    record_id varchar not null,
    arm varchar not null,           -- LL | LE | LS
    sex varchar,                    -- Male | Female
    age double,
    rand_date date,
    supervised_done integer not null,
    home_done integer not null,
    adherence double not null,      -- supervised sessions done / planned
    adherent boolean not null,
    received_programme boolean not null,
    status varchar not null,        -- study end status, or 'Ongoing'
    end_date date,
    primary key (data_cut, record_id)
);

-- One row per participant x visit x parameter with a value (ADaM BDS-like).
create table analysis.outcomes (
    data_cut integer not null,
    record_id varchar not null,
    arm varchar not null,
    visit varchar not null,
    step integer not null,
    param varchar not null,
    aval double not null,
    base double,
    chg double,                     -- null at baseline
    adt date,                       -- assessment date
    visit_day integer,              -- days from randomisation
    in_window boolean,
    primary key (data_cut, record_id, visit, param)
);

-- Per arm x visit x parameter: descriptive statistics of the value and of the change.
create table analysis.outcome_summary (
    data_cut integer not null, arm varchar not null, visit varchar not null, step integer not null,
    param varchar not null, n integer not null, mean double, sd double, median double, q1 double, q3 double,
    chg_n integer not null, chg_mean double, chg_sd double, chg_ci_low double, chg_ci_high double
);

-- CONSORT flow: every screened (or randomised) record lands in exactly one box per stage.
create table analysis.consort_flow (
    data_cut integer not null, stage_order integer not null, stage varchar not null, box varchar not null,
    arm varchar, n integer not null
);

-- Per arm: sessions done and adherence.
create table analysis.adherence (
    data_cut integer not null, arm varchar not null, participants integer not null,
    received_programme integer not null, supervised_mean double, supervised_sd double,
    supervised_median double, adherence_mean double, adherent integer not null, adherent_pct double,
    home_mean double
);

-- Per arm x dimension (severity, serious, relatedness) x category: events and participants.
create table analysis.adverse_events (
    data_cut integer not null, arm varchar not null, dimension varchar not null, category varchar not null,
    category_sort integer not null, events integer not null, participants integer not null,
    participants_pct double
);

-- Per arm x visit: assessments expected (the visit window closed, or assessed) and received.
create table analysis.missing_data (
    data_cut integer not null, arm varchar not null, visit varchar not null, step integer not null,
    expected integer not null, received integer not null, missing integer not null, received_pct double
);

-- Per timepoint x parameter x arm x population: responders at the MCID.
create table analysis.responders (
    data_cut integer not null, timepoint varchar not null, param varchar not null, arm varchar not null,
    population varchar not null, n integer not null, responders integer not null, pct double
);

-- Every quarantined row and every flag at a cut, as a data query with its status.
create table analysis.data_queries (
    data_cut integer not null, query_id varchar not null, action varchar not null, form varchar not null,
    record_id varchar, event varchar, instance varchar, "column" varchar, value varchar,
    "check" varchar not null, reason varchar, since_cut integer, status varchar not null  -- new | open | resolved
);

-- Model estimates per cut (ANCOVA, GEE, mixed model), or why a model was not fitted.
create table analysis.model_results (
    data_cut integer not null, model varchar not null, population varchar not null, timepoint varchar not null,
    param varchar not null, term varchar not null, estimate double, std_error double, ci_low double,
    ci_high double, p_value double, n_obs integer, n_participants integer, status varchar not null,
    note varchar
);

create view latest.participants as
select * exclude (data_cut) from analysis.participants
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.outcomes as
select * exclude (data_cut) from analysis.outcomes
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.outcome_summary as
select * exclude (data_cut) from analysis.outcome_summary
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.consort_flow as
select * exclude (data_cut) from analysis.consort_flow
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.adherence as
select * exclude (data_cut) from analysis.adherence
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.adverse_events as
select * exclude (data_cut) from analysis.adverse_events
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.missing_data as
select * exclude (data_cut) from analysis.missing_data
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.responders as
select * exclude (data_cut) from analysis.responders
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.data_queries as
select * exclude (data_cut) from analysis.data_queries
where data_cut = (select max(data_cut) from analysis.participants);
create view latest.model_results as
select * exclude (data_cut) from analysis.model_results
where data_cut = (select max(data_cut) from analysis.participants);
