-- The blinded outputs recorded, with the timepoint and audience of each report (one row per file, newest first).
select
    o.path,
    o.sha256,
    o.kind,
    o.data_cut,
    r.timepoint,
    r.audience,
    strftime(o.written_at, '%Y-%m-%d %H:%M') as written_at
from meta.outputs as o
left join meta.report_runs as r on o.path = r.file_name and o.sha256 = r.sha256 and r.blinded
qualify row_number() over (partition by o.path order by r.run_id desc nulls last) = 1
order by o.written_at desc, o.path asc;
