-- The outputs runback publishes, recorded so that what is served and what is still to do are
-- answered by the warehouse, never by a file's name: `meta.outputs` holds every blinded file of a
-- trial's blinded root (reports, their PDFs, data-query listings) by its path and SHA-256, the
-- only files `runback serve` answers for; `meta.cut_outputs` what each data cut has published
-- (its listing, its artifacts), so a run lost before it published them leaves them to the next.
create table meta.outputs (
    path varchar primary key,
    sha256 varchar not null,
    kind varchar not null,
    data_cut integer,
    written_at timestamp not null
);
comment on table meta.outputs is
'The blinded files of the blinded root (reports, PDFs, listings): the only files runback serve publishes';
comment on column meta.outputs.path is 'The file, relative to the blinded root (e.g. queries/data_queries_cut3.csv)';
comment on column meta.outputs.sha256 is 'SHA-256 of the file as written: a file that differs is not served';
comment on column meta.outputs.kind is 'report, pdf or listing';
comment on column meta.outputs.data_cut is 'The data cut it shows';
comment on column meta.outputs.written_at is 'When it was written';

create table meta.cut_outputs (
    cut_id integer not null,
    what varchar not null,
    written_at timestamp not null,
    primary key (cut_id, what)
);
comment on table meta.cut_outputs is
'What each data cut has published (listing, artifacts); a cut without a row has it still to do';
comment on column meta.cut_outputs.cut_id is 'The data cut';
comment on column meta.cut_outputs.what is 'listing (its open data queries, for the sites) or artifacts (Prefect)';
comment on column meta.cut_outputs.written_at is 'When it was published';
