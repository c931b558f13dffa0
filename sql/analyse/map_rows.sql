-- Lets a cut's analysis.<table> show the stored rows of rows_cut (its own, or an earlier cut's with the same key).
insert into analysis.cut_tables (data_cut, table_name, rows_cut, input_hash, content_hash)
values ($cut, $table, $rows_cut, $input_hash, $content_hash);
