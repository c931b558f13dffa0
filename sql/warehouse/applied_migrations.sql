-- Names of the migrations this warehouse has had (one row per migration).
select name from meta.schema_migrations order by name;
