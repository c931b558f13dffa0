-- The SHA-256 of the reference tables (ref.*) as last written from the study definition: a refresh
-- whose study definition gives the same tables does not write them again (`write_reference`).
create table meta.reference_written (content_hash varchar not null);
comment on table meta.reference_written is
'SHA-256 of the reference tables (ref.*) as last written from the study definition (at most one row)';
comment on column meta.reference_written.content_hash is 'SHA-256 of the reference tables as written';
