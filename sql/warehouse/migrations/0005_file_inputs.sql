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
