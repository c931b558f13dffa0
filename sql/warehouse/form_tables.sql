-- The per-form tables of one layer (raw or clean): one row per table.
select table_name
from information_schema.tables
where table_schema = $schema
order by table_name;
