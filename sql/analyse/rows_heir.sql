-- The first later cut that shows the stored rows of $cut for a table, if any (one row).
select min(data_cut)
from analysis.cut_tables
where table_name = $table and rows_cut = $cut and data_cut <> $cut;
