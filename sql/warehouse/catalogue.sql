-- What the database file holds (one row): its tables, and whether runback's migrations table is one.
select
    count(*) as tables,
    count(*) filter (where table_schema = 'meta' and table_name = 'schema_migrations') > 0 as ours
from information_schema.tables
where table_catalog = current_database();
