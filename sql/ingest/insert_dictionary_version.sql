-- Records a new data dictionary version (one row); returns its id.
insert into meta.dictionary_versions (dictionary_id, sha256, fields, forms, first_file_id, definition, diff)
select coalesce(max(dictionary_id), 0) + 1, $sha256, $fields, $forms, $file_id, $definition, $diff
from meta.dictionary_versions
returning dictionary_id;
