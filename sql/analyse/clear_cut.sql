-- Removes one analysis table's rows of a cut (before they are computed again).
delete from analysis.{{ table }} where data_cut = $cut;
