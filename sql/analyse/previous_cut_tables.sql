-- Per analysis table, the rows shown (their cut) and the key of the newest cut analysed before $cut.
select table_name, rows_cut, input_hash
from analysis.cut_tables
where data_cut = (select max(data_cut) from analysis.cut_tables where data_cut < $cut);
