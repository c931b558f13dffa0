-- A cut's analysis.<table> stops showing any stored rows.
delete from analysis.cut_tables where table_name = $table and data_cut = $cut;
