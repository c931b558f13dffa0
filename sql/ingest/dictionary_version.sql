-- The dictionary version with these bytes, if recorded (at most one row).
select dictionary_id from meta.dictionary_versions where sha256 = $sha256;
