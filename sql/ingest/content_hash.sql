-- Content hash of clean.<form> as of a cut (one row): an order-free checksum of the keys and row
-- hashes of the rows valid then (XOR of 64-bit hashes: no sort, no string building).
-- Speed: carries the goal "a new 20,000-participant night <= 4x read_csv" (flows/hashing.py says why).
select coalesce(bit_xor(hash(record_id, event, instance, row_hash)), 0)::varchar
from clean.{{ form }}
where valid_at(valid_from_cut, valid_to_cut, $cut);
