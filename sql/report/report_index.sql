-- Every report rendered from this warehouse, newest first (one row per rendering).
select
    timepoint, data_cut, audience, blinded, strftime(rendered_at, '%Y-%m-%d %H:%M') as rendered_at, file_name
from meta.report_runs
order by run_id desc;
