-- Sets the outcome of loading one export file.
update meta.source_files
set status = $status, data_cut = $data_cut, message = $message, dictionary_id = $dictionary_id
where file_id = $file_id;
