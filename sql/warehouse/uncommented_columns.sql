-- Columns of one table that have no comment yet (one row per column).
select column_name
from duckdb_columns()
where schema_name = $schema and table_name = $table and (comment is null or comment = '')
order by column_index;
