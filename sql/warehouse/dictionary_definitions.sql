-- Every recorded data dictionary's field definitions (one row per version).
select dictionary_id, definition from meta.dictionary_versions order by dictionary_id;
