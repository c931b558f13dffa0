-- The data queries of a cut for the run's summary and listing: where, what and why, and status
-- (new, open, resolved). Values are as exported: identifiers are never stored, the allocation is masked.
select form, record_id, event, instance, "column", value, "check", reason, action, status
from analysis.data_queries
where data_cut = $cut
order by status, form, try_cast(record_id as integer), record_id, event, instance, "column";
