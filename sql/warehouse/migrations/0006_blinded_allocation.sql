-- The allocation is masked at intake: the warehouse knows its key by a fingerprint only (never the
-- key), records it with every data cut and report, and logs every unblinded output.
create table meta.allocation_keys (
    fingerprint varchar primary key,  -- of the key file (permutation and secret); the key stays outside
    first_file_id integer,            -- the first file masked with it
    recorded_at timestamp not null
);

alter table meta.data_cuts add column key_fingerprint varchar;
alter table meta.report_runs add column key_fingerprint varchar;

-- One row per unblinded output (report, export, query session), written before the output is.
create table meta.unblinding (
    unblinding_id integer primary key,
    logged_at timestamp not null,
    what varchar not null,            -- report | export | query
    data_cut integer,
    target varchar,                   -- the file or folder written, or the statement run
    key_fingerprint varchar not null
);

comment on table meta.allocation_keys is 'The fingerprint of the allocation key the warehouse is blinded with';
comment on table meta.unblinding is 'Every unblinded report, export and query, logged before it was written';

-- The arm columns hold blinded letters now; their comments say so (and name no arm).
comment on column analysis.participants.arm is
'Arm allocated, as its blinded letter (A, B, C; the allocation key says which arm)';
comment on column analysis.outcomes.arm is 'Arm allocated, as its blinded letter (A, B, C)';
comment on column analysis.baseline.arm is 'Arm as its blinded letter (A, B, C), or All';
comment on column analysis.model_results.term is
'Contrast between arms (B - A), slope in an arm (slope B) or slope difference (slope B - A), by blinded letter';
