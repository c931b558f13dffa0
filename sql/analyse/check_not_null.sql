-- Rows of analysis.{{ table }} of a cut whose {{ column }} is null (at most 5); the column is quoted:
-- it may be a keyword ("check").
select *
from analysis.{{ table }}
where data_cut = $cut and "{{ column }}" is null  -- noqa: RF06
limit 5;
