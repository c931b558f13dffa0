-- The migrations applied to this warehouse: one row per file of sql/warehouse/migrations/.
create schema if not exists meta;
create table if not exists meta.schema_migrations (
    name varchar primary key,
    applied_at timestamp not null
);
