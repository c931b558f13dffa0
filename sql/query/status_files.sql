-- The export files seen, oldest first: one row per file with its outcome.
select
    file_id as id,
    file_name as file,
    status,
    rows,
    data_cut as cut,
    strftime(ingested_at, '%Y-%m-%d %H:%M') as ingested,
    coalesce(message, '') as message
from meta.source_files
order by file_id;
