-- Row conservation of one file: one row per form (rows_in = loaded + quarantined).
insert into meta.file_forms by name
select file_id, form, rows_in, loaded, quarantined, flagged from file_forms;
