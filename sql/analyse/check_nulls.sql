-- How many rows of analysis.{{ table }} of a cut are null in each column named in $columns (one
-- row, one count per column, named as the column).
select count_if(columns(lambda c: list_contains($columns, c)) is null)
from analysis.{{ table }}
where data_cut = $cut;
