-- Records one applied migration.
insert into meta.schema_migrations values ($name, current_timestamp);
