-- Quarantine records of one file: one row per failed check of a held-back form row.
insert into quarantine.rows by name
select $file_id as file_id, source_row, form, record_id, event, instance, "column", value, "check", reason
from failures
where action = 'quarantine';
