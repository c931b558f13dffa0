-- Logs one unblinded output before it is written (one row).
insert into meta.unblinding (unblinding_id, logged_at, what, data_cut, target, key_fingerprint)
select coalesce(max(unblinding_id), 0) + 1, current_timestamp, $what, $data_cut, $target, $key_fingerprint
from meta.unblinding;
