-- The kept charts of a report, by their keys (flows/report/kept_charts.py).
select
    chart_key,
    svg,
    alt
from meta.report_charts
where chart_key in (select unnest($keys::varchar[]))
