-- The newest recorded dictionary version (at most one row): its id and field definitions.
select dictionary_id, definition from meta.dictionary_versions order by dictionary_id desc limit 1;
