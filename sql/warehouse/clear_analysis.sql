-- Empties analysis.{{ table }} of every cut (its rows are recomputed from the clean layer when a cut is analysed).
delete from analysis.{{ table }};
