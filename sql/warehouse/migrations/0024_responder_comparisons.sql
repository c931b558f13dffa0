-- Responders of every randomised participant due at a timepoint (a missing change is a non-response),
-- with how many had a change; their between-arm risk differences and relative risks (CONSORT 17b);
-- and what a lock records of the software and of the results it locks.

-- Rows stored before this migration counted only participants with a change: n was that count.
alter table analysis.responders add column observed integer;
update analysis.responders set observed = n;
comment on column analysis.responders.population is
'ITT (randomised and due, a missing change a non-response), Observed cases, or Per protocol (adherent, in-window)';
comment on column analysis.responders.n is
'Participants of the population due at the timepoint''s visit (its window closed by the cut''s date, or assessed)';
comment on column analysis.responders.responders is
'Participants of n whose change reaches the MCID in the better direction (a missing change is not a response)';
comment on column analysis.responders.pct is 'Responders, % of n';
comment on column analysis.responders.observed is
'Participants of n with a change at the timepoint''s visit (n - observed: missing, counted as non-response)';

create table analysis.responder_comparisons (
    data_cut integer not null,
    timepoint varchar not null,
    param varchar not null,
    population varchar not null,
    term varchar not null,
    risk_difference double,
    rd_ci_low double,
    rd_ci_high double,
    relative_risk double,
    rr_ci_low double,
    rr_ci_high double
);
comment on table analysis.responder_comparisons is
'Responders compared between each pair of arms per timepoint, parameter and population (risk difference and ratio)';
comment on column analysis.responder_comparisons.data_cut is 'Data cut the row belongs to';
comment on column analysis.responder_comparisons.timepoint is 'Follow-up timepoint: week_8 or month_6';
comment on column analysis.responder_comparisons.param is 'Outcome parameter with an MCID (see ref.params)';
comment on column analysis.responder_comparisons.population is 'Population, as in analysis.responders';
comment on column analysis.responder_comparisons.term is
'The pair of arms compared, later minus (or over) earlier in ref.arms order, e.g. B - A';
comment on column analysis.responder_comparisons.risk_difference is
'Responders'' proportion of the first arm minus the second''s (null when an arm has no participant due)';
comment on column analysis.responder_comparisons.rd_ci_low is
'Lower 95% limit of the risk difference, Newcombe''s hybrid score interval (method 10)';
comment on column analysis.responder_comparisons.rd_ci_high is
'Upper 95% limit of the risk difference, Newcombe''s hybrid score interval (method 10)';
comment on column analysis.responder_comparisons.relative_risk is
'Responders'' proportion of the first arm over the second''s (0.5 added to each cell when an arm has none)';
comment on column analysis.responder_comparisons.rr_ci_low is 'Lower 95% limit of the relative risk (log interval)';
comment on column analysis.responder_comparisons.rr_ci_high is 'Upper 95% limit of the relative risk (log interval)';

create view latest.responder_comparisons as
select * from analysis.responder_comparisons
where data_cut = (select max(data_cut) from analysis.participants);
comment on view latest.responder_comparisons is
'analysis.responder_comparisons of the newest data cut analysed (its data_cut column says which)';

alter table meta.analysis_locks add column runback_version varchar;
alter table meta.analysis_locks add column results_hash varchar;
comment on column meta.analysis_locks.runback_version is
'The runback version that made the lock (null: locked before locks recorded it)';
comment on column meta.analysis_locks.results_hash is
'SHA-256 of the locked cut''s analysis results (every analysis table''s rows of the cut but its data queries)';
