-- Records what one export file was read with (one row per file).
insert into meta.file_inputs (
    file_id, dictionary_file, dictionary_sha256, missing_code_columns,
    lacking_missing_codes, combined_checkboxes, system_columns
)
values (
    $file_id, $dictionary_file, $dictionary_sha256, $missing_code_columns,
    $lacking_missing_codes::json, $combined_checkboxes::json, $system_columns::json
);
