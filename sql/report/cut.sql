-- The data cut a report is for (one row): id, export time, the file that made it, and the
-- fingerprint of the allocation key its allocation is masked with (the cut's, or the warehouse's).
select
    c.cut_id, c.export_time, f.file_name, c.file_id, c.clean_hash,
    coalesce(c.key_fingerprint, (select max(fingerprint) from meta.allocation_keys)) as key_fingerprint
from meta.data_cuts as c
inner join meta.source_files as f using (file_id)
where c.cut_id = $cut;
