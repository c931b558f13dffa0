-- The table, when it has no comment yet (zero or one row).
select table_name from duckdb_tables()
where schema_name = $schema and table_name = $table and (comment is null or comment = '');
