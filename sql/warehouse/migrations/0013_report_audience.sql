-- Who each rendered report is for: open (pooled over the arms) or closed (by arm). Reports
-- rendered before audiences existed were by arm, so closed.
alter table meta.report_runs add column audience varchar default 'closed';
update meta.report_runs set audience = 'closed' where audience is null;
comment on column meta.report_runs.audience is 'open (pooled over the arms) or closed (by arm)';
