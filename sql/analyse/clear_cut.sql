-- Removes the rows of one analysis table of a cut (before the cut is analysed again).
delete from analysis.{{ table }} where data_cut = $cut;
