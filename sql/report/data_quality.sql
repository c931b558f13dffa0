-- Data queries of a cut by form, action and status (counts only: no values reach a report).
select form, action, status, count(*) as queries
from analysis.data_queries
where data_cut = $cut
group by all
order by form, action, status;
