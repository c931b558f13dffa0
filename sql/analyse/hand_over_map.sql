-- The cuts that showed the stored rows of $cut show them under their new cut, $heir.
update analysis.cut_tables set rows_cut = $heir where table_name = $table and rows_cut = $cut;
