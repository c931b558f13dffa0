-- What each data cut has published: its listing of open data queries (a CSV for the sites) and
-- its Prefect artifacts. A run lost before it published them leaves no row: the next run does it.
create table meta.cut_outputs (
    cut_id integer not null,
    what varchar not null,
    file_name varchar,
    sha256 varchar,
    written_at timestamp not null,
    primary key (cut_id, what)
);
comment on table meta.cut_outputs is
'What each data cut has published (listing, artifacts); a cut without a row has it still to do';
comment on column meta.cut_outputs.cut_id is 'The data cut';
comment on column meta.cut_outputs.what is 'listing (the open data queries for the sites) or artifacts (Prefect)';
comment on column meta.cut_outputs.file_name is 'The listing file (null: no open query, or artifacts)';
comment on column meta.cut_outputs.sha256 is 'SHA-256 of the listing file as written';
comment on column meta.cut_outputs.written_at is 'When it was published';
