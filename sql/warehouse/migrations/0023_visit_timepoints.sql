-- Which visits are the follow-up reports' timepoints, written from the trial's definition
-- (schemas/trial.py TIMEPOINT_LABELS) with the other visits, so that SQL never names them.
alter table ref.visits add column timepoint boolean;
comment on column ref.visits.timepoint is 'Whether the visit is a follow-up report''s timepoint (week 8, month 6)';
