-- Data cuts without their file, or files that claim a cut that does not point back (one row per problem).
select 'data cut ' || c.cut_id || ' has no loaded file' as problem, 1 as n
from meta.data_cuts as c
left join meta.source_files as f on c.file_id = f.file_id and c.cut_id = f.data_cut and f.status = $loaded
where f.file_id is null
union all
select 'file ' || f.file_id || ' claims data cut ' || f.data_cut || ', which is not its cut', 1
from meta.source_files as f
left join meta.data_cuts as c on f.data_cut = c.cut_id and f.file_id = c.file_id
where f.data_cut is not null and c.cut_id is null
union all
select 'file ' || file_id || ' has the unknown status ' || status, 1
from meta.source_files
where not list_contains($recorded, status);
