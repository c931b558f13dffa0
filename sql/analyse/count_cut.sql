-- Rows of one analysis table for a cut (one row).
select count(*) from analysis.{{ table }} where data_cut = $cut;
