-- The data dictionary of the exported tables (the analysis.* views): one row per column, with its
-- type and description (the view's own, or its stored rows' column's).
select
    v.table_name as "table",  -- noqa: RF06
    v.column_name as "column",
    v.data_type as type,
    coalesce(v.comment, r.comment, '') as description
from duckdb_columns() as v
inner join duckdb_views() as views
    on v.schema_name = views.schema_name and v.table_name = views.view_name
left join duckdb_columns() as r
    on v.schema_name = r.schema_name and r.table_name = v.table_name || '_rows' and v.column_name = r.column_name
where v.schema_name = 'analysis'
order by v.table_name, v.column_index;
