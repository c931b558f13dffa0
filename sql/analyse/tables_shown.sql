-- The analysis tables a cut shows rows of (none: the cut has not been analysed).
select table_name from analysis.cut_tables where data_cut = $cut order by table_name;
