-- Record a blinded file of the blinded root (a report, its PDF, a listing) as written, by its path and SHA-256.
insert or replace into meta.outputs (path, sha256, kind, data_cut, written_at)
values ($path, $sha256, $kind, $cut, current_timestamp::timestamp);
