-- The rows of clean.<form> valid now, without provenance, in a fixed order (one row per row):
-- what its content hash hashes.
select * exclude (file_id, source_row, valid_from_cut, valid_to_cut)
from clean.{{ form }}
where valid_to_cut is null
order by all;
