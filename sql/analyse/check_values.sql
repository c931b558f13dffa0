-- The distinct values, as text, of each column of analysis.{{ table }} named in $columns, in a cut's
-- rows (one row, one list per column, named as the column; a null is among them when present).
select array_agg(distinct columns(lambda c: list_contains($columns, c))::varchar)
from analysis.{{ table }}
where data_cut = $cut;
