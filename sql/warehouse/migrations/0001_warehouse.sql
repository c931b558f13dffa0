-- The warehouse's fixed tables: provenance (meta), quarantine, and the layers' schemas.
-- Per-form tables (raw.<form>, clean.<form>) are created from the study definition on first load.
create schema if not exists raw;
create schema if not exists clean;
create schema if not exists quarantine;
create schema if not exists analysis;

-- One row per export file seen, loaded or not.
create table meta.source_files (
    file_id integer primary key,
    file_name varchar not null,
    path varchar not null,
    sha256 varchar not null,
    bytes bigint not null,
    rows integer,                -- data rows in the file; null when it could not be parsed
    export_time timestamp,       -- from the file name (..._YYYY-MM-DD_HHMM.csv); null when it has none
    ingested_at timestamp not null,
    status varchar not null,     -- loaded | unchanged | older | refused
    message varchar,             -- why a file was refused or not applied
    data_cut integer,            -- the cut this file made; null when it changed nothing
    dictionary_id integer
);

-- One row per distinct data dictionary a file was read with.
create table meta.dictionary_versions (
    dictionary_id integer primary key,
    sha256 varchar not null unique,
    fields integer not null,
    forms integer not null,
    first_file_id integer,       -- the first file read with it
    definition json not null,    -- the fields as the study definition read them
    diff json                    -- fields added, removed, changed since the previous version
);

-- One row per data cut: a state of the clean layer and of the open queries.
create table meta.data_cuts (
    cut_id integer primary key,
    file_id integer not null,
    export_time timestamp,       -- the cut's date: when its export was made
    clean_hash varchar not null, -- content hash of the clean layer as of this cut
    queries_hash varchar not null
);

-- Row conservation per file and form: rows_in = loaded + quarantined.
create table meta.file_forms (
    file_id integer not null,
    form varchar not null,
    rows_in integer not null,
    loaded integer not null,
    quarantined integer not null,
    flagged integer not null,
    primary key (file_id, form)
);

-- One row per failed check of a form row that was held back.
create table quarantine.rows (
    file_id integer not null,
    source_row integer not null,
    form varchar not null,
    record_id varchar,
    event varchar,
    instance varchar,
    "column" varchar,
    value varchar,
    "check" varchar not null,
    reason varchar not null
);

-- One row per failed check of a form row that loaded with a data query.
create table quarantine.flags (
    file_id integer not null,
    source_row integer not null,
    form varchar not null,
    record_id varchar,
    event varchar,
    instance varchar,
    "column" varchar,
    value varchar,
    "check" varchar not null,
    reason varchar not null
);
