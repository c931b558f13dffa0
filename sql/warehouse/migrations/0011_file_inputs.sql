-- What each export file was read with (one row per file read): the data dictionary (file and
-- sha256), whether the missing-data-code checkbox columns were there, and the system columns.
create table if not exists meta.file_inputs (
    file_id integer primary key,
    dictionary_file varchar,          -- the dictionary file the export was read with
    dictionary_sha256 varchar,        -- sha256 of that file's bytes
    missing_code_columns varchar,     -- present | absent | partly present | not applicable
    lacking_missing_codes json,       -- checkbox fields whose missing-code columns were absent
    combined_checkboxes json,         -- checkbox fields written as one column of codes
    system_columns json               -- DAG, survey identifier, survey timestamps present
);
comment on table meta.file_inputs is 'What each export file was read with';
comment on column meta.file_inputs.file_id is 'File (meta.source_files)';
comment on column meta.file_inputs.dictionary_file is 'The data dictionary file the export was read with';
comment on column meta.file_inputs.dictionary_sha256 is 'SHA-256 of that dictionary file''s bytes';
comment on column meta.file_inputs.missing_code_columns is 'Missing-code checkbox columns: present, absent, partly';
comment on column meta.file_inputs.lacking_missing_codes is 'Checkbox fields lacking missing-code columns';
comment on column meta.file_inputs.combined_checkboxes is 'Checkbox fields written as one column of codes (JSON list)';
comment on column meta.file_inputs.system_columns is 'DAG and survey columns present';
