-- The SHA-256 of the reference tables as last written (no row: never written).
select content_hash from meta.reference_written;
