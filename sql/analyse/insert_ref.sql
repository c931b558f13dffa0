-- Writes one reference table from the study definition (rows registered as reference_rows).
insert into ref.{{ table }} by name
select * from reference_rows;
