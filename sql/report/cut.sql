-- The data cut a report is for (one row): id, export time, the file that made it.
select c.cut_id, c.export_time, f.file_name, c.file_id, c.clean_hash
from meta.data_cuts as c
inner join meta.source_files as f using (file_id)
where c.cut_id = $cut;
