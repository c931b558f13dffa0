-- Each clean form's content hash as of a cut, as the ingest kept it (one row per form).
select form, content_hash from meta.cut_forms where cut_id = $cut;
