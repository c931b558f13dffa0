-- The columns of one table, in order: name and type (one row per column).
select column_name, data_type
from information_schema.columns
where table_schema = $schema and table_name = $table
order by ordinal_position;
