-- Record that a data cut published `$what` (its listing, with the file's name and SHA-256, or its artifacts).
insert or replace into meta.cut_outputs (cut_id, what, file_name, sha256, written_at)
values ($cut, $what, $file_name, $sha256, current_timestamp::timestamp);
