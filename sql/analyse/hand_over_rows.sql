-- The stored rows of $cut become those of $heir, a later cut that shows them (before $cut is analysed again).
update analysis.{{ table }}_rows set data_cut = $heir where data_cut = $cut;
