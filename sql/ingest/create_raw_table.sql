-- Creates raw.<form>: one row per distinct version of a form row, as text, with the file and row it first came from.
create table if not exists raw.{{ form }} as
select * from incoming_raw
limit 0;
