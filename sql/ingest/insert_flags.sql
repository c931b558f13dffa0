-- Flag records of one file: one row per failed check of a form row that loaded.
insert into quarantine.flags by name
select $file_id as file_id, source_row, form, record_id, event, instance, "column", value, "check", reason
from failures
where action = 'flag';
