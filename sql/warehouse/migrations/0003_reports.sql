-- Baseline characteristics by arm (Table 1 of the reports) and the log of rendered reports.
create table analysis.baseline (
    data_cut integer not null,
    arm varchar not null,           -- LL | LE | LS | All
    characteristic varchar not null,
    unit varchar,
    sort integer not null,
    kind varchar not null,          -- continuous (mean, SD) | count (n, %)
    n integer not null,             -- participants with a value
    mean double,
    sd double,
    count integer,
    pct double
);

create view latest.baseline as
select * exclude (data_cut) from analysis.baseline where data_cut = (select max(data_cut) from analysis.participants);

-- One row per report rendered: what, for which cut, blinded or not, and the file's hash.
create table meta.report_runs (
    run_id integer primary key,
    rendered_at timestamp not null,
    timepoint varchar not null,
    data_cut integer not null,
    blinded boolean not null,
    file_name varchar not null,
    sha256 varchar not null
);
