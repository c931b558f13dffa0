-- Removes the stored rows of one analysis table that a cut computed (no other cut shows them).
delete from analysis.{{ table }}_rows where data_cut = $cut;
