-- What the content hash of clean.<form> as of a cut hashes (one row per row valid then): the keys
-- and row hashes, in key order.
select record_id, event, instance, row_hash
from clean.{{ form }}
where valid_at(valid_from_cut, valid_to_cut, $cut)
order by record_id, event, instance;
