-- Planned looks: the interim looks of the analysis plan recorded as they are taken (`runback look`),
-- one row per look, never updated or deleted; the final look is the timepoint's lock
-- (meta.analysis_locks). And the reason the data monitoring committee gave when it asked a closed
-- report with p-values at a cut that is not a planned look.
create table meta.analysis_looks (
    timepoint varchar not null,
    look integer not null,
    data_cut integer not null,
    evaluable integer not null,
    planned_total integer not null,
    fraction double not null,
    planned_fraction double not null,
    content_hash varchar not null,
    looked_at timestamp not null,
    primary key (timepoint, look),
    unique (timepoint, data_cut)
);
comment on table meta.analysis_looks is 'The planned interim looks taken at a timepoint (runback look); immutable';
comment on column meta.analysis_looks.timepoint is 'The plan''s primary timepoint';
comment on column meta.analysis_looks.look is 'k: the look''s number (1 = the first interim look)';
comment on column meta.analysis_looks.data_cut is 'The data cut of the look';
comment on column meta.analysis_looks.evaluable is
'Participants with a value of a primary outcome at the timepoint''s visit';
comment on column meta.analysis_looks.planned_total is 'The plan''s planned total (the denominator of the fraction)';
comment on column meta.analysis_looks.fraction is 'The information fraction observed: evaluable / planned_total';
comment on column meta.analysis_looks.planned_fraction is 'The information fraction the plan planned for this look';
comment on column meta.analysis_looks.content_hash is 'SHA-256 of the cut''s analysis input when the look was taken';
comment on column meta.analysis_looks.looked_at is 'When the look was recorded (UTC)';

alter table meta.report_runs add column dmc_reason varchar;
comment on column meta.report_runs.dmc_reason is
'Why the data monitoring committee asked p-values at a cut that is not a planned look (null otherwise)';
