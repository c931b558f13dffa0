-- The data queries of a cut for the run summary: place and status, no values.
select form, record_id, event, instance, "check", action, status
from analysis.data_queries
where data_cut = $cut
order by status, form, try_cast(record_id as integer), record_id, event;
