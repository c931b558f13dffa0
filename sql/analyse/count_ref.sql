-- Rows of one reference table (one row).
select count(*) from ref.{{ table }};
