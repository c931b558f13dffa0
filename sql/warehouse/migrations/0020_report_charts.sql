-- The charts of blinded reports, kept by a hash of what draws them (charts.py's source,
-- matplotlib's version, the chart and its inputs): a report whose chart would be drawn the same
-- shows the kept one, without importing matplotlib or drawing (`flows/report/kept_charts.py`).
-- Charts of an unblinded report name the arms and are never kept here.
create table meta.report_charts (
    chart_key varchar primary key,
    svg varchar,
    alt varchar,
    drawn_at timestamp not null
);
comment on table meta.report_charts is
'Charts of blinded reports, kept by a hash of what draws them (never an unblinded chart)';
comment on column meta.report_charts.chart_key is
'SHA-256 of the chart''s drawing code, matplotlib''s version, the chart and its inputs';
comment on column meta.report_charts.svg is 'The chart as SVG (null: nothing to draw)';
comment on column meta.report_charts.alt is 'The chart''s text alternative';
comment on column meta.report_charts.drawn_at is 'When the chart was drawn';
