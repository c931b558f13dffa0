-- The fingerprint of the allocation key the warehouse was blinded with (one row; null before the
-- first randomisation). The key itself never enters the warehouse.
select max(fingerprint) from meta.allocation_keys;
