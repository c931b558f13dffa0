-- The allocation key of an unblinded query session, as a temporary table of that session only:
-- one row per arm (letter, arm, name), from the key file (`key_rows`); never stored in the warehouse.
create temp table unblinded_arms as select * from key_rows;
