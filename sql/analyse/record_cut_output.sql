-- Record that a data cut published `$what` (its listing or its artifacts).
insert or replace into meta.cut_outputs (cut_id, what, written_at)
values ($cut, $what, current_timestamp::timestamp);
