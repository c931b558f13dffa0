-- Rows of analysis.{{ table }} of a cut whose {{ column }} is not one of the values it accepts
-- ($accepted, as text; a null passes), at most 5.
select *
from analysis.{{ table }}
where data_cut = $cut and not list_contains($accepted, "{{ column }}"::varchar)  -- noqa: RF06
limit 5;
