-- The clean layer's columns and their types (one row per form): a retyped or added column changes
-- what a table reading the form computes, even where no row's content hash changed.
select table_name, string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position)
from information_schema.columns
where table_schema = 'clean'
group by table_name;
