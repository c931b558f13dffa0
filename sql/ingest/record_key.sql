-- Records the allocation key's fingerprint at its first use (no row when it is known already).
insert into meta.allocation_keys (fingerprint, first_file_id, recorded_at)
select $key_fingerprint, $file_id, current_timestamp
where not exists (select 1 from meta.allocation_keys where fingerprint = $key_fingerprint);
