-- Empties analysis.{{ table }} (its rows are recomputed from the clean layer when a cut is analysed).
delete from analysis.{{ table }};
