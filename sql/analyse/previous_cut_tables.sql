-- Per analysis table, what the newest cut analysed before $cut shows: its rows (their cut) and keys.
select data_cut, table_name, rows_cut, input_hash, content_hash
from analysis.cut_tables
where data_cut = (select max(data_cut) from analysis.cut_tables where data_cut < $cut);
