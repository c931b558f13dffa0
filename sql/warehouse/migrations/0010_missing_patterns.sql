-- The missing-data pattern of each outcome by arm: which visits participants were assessed at.
create table analysis.missing_patterns (
    data_cut integer not null, param varchar not null, arm varchar not null, pattern varchar not null,
    kind varchar not null, participants integer not null
);

-- it keeps data_cut, so a reader of latest.missing_patterns can tell which cut it shows
create view latest.missing_patterns as
select * from analysis.missing_patterns
where data_cut = (select max(data_cut) from analysis.participants);

comment on table analysis.missing_patterns is 'Per parameter x arm x pattern: participants with that pattern of visits';
comment on view latest.missing_patterns is
'Missing-data patterns per parameter and arm, for the newest data cut analysed (its data_cut column says which)';
comment on column analysis.missing_patterns.data_cut is 'The data cut analysed';
comment on column analysis.missing_patterns.param is 'Outcome parameter (ref.params)';
comment on column analysis.missing_patterns.arm is 'Arm allocated, as the warehouse holds it';
comment on column analysis.missing_patterns.pattern is
'One mark per visit the parameter is measured at, in visit order: X assessed, . missed, - not yet due';
comment on column analysis.missing_patterns.kind is
'complete, monotone (no value after the first missed visit), intermittent, or none (no value at all)';
comment on column analysis.missing_patterns.participants is 'Randomised participants of the arm with this pattern';
