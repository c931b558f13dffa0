-- Database lock: the analysis cut declared for a timepoint, once. A row is never updated or deleted
-- (`runback lock` refuses a second lock of a timepoint; the primary key refuses it too).
create table meta.analysis_locks (
    timepoint varchar primary key,
    data_cut integer not null,
    content_hash varchar not null,
    clean_hash varchar not null,
    reached integer not null,
    randomised integer not null,
    forced boolean not null,
    reason varchar,
    locked_at timestamp not null
);

comment on table meta.analysis_locks is 'The locked analysis cut of each timepoint (runback lock); immutable';
comment on column meta.analysis_locks.timepoint is 'week_8 or month_6';
comment on column meta.analysis_locks.data_cut is 'The data cut the final analysis of the timepoint uses';
comment on column meta.analysis_locks.content_hash is
'SHA-256 of the cut''s analysis input (analysis.participants and analysis.outcomes rows of the cut)';
comment on column meta.analysis_locks.clean_hash is 'meta.data_cuts.clean_hash of the cut when it was locked';
comment on column meta.analysis_locks.reached is 'Randomised participants past the timepoint''s window at the cut';
comment on column meta.analysis_locks.randomised is 'Randomised participants at the cut';
comment on column meta.analysis_locks.forced is 'Locked with --force while participants were inside the window';
comment on column meta.analysis_locks.reason is 'Why a forced lock was made';
comment on column meta.analysis_locks.locked_at is 'When the lock was recorded (UTC)';
