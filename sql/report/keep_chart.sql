-- Keeps one chart of a blinded report; a chart already kept under its key stays as it is.
insert into meta.report_charts (chart_key, svg, alt, drawn_at)
values ($chart_key, $svg, $alt, current_timestamp)
on conflict do nothing
