-- Record a blinded file of the blinded root (a report, its PDF, a listing) as written, by its path and SHA-256;
-- a file written again with the same bytes keeps the time it was first written, so the index of a rerun is the same.
insert into meta.outputs (path, sha256, kind, data_cut, written_at)
values ($path, $sha256, $kind, $cut, current_timestamp::timestamp)
on conflict (path) do update set
    sha256 = excluded.sha256,
    kind = excluded.kind,
    data_cut = excluded.data_cut,
    written_at = case
        when meta.outputs.sha256 = excluded.sha256 then meta.outputs.written_at else excluded.written_at
    end;
