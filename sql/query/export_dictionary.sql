-- The data dictionary of the exported tables (the analysis.* tables): one row per column, with its
-- type and description.
select
    table_name as "table",  -- noqa: RF06
    column_name as "column",
    data_type as type,
    coalesce(comment, '') as description
from duckdb_columns()
where schema_name = 'analysis'
order by table_name, column_index;
