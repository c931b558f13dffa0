-- Rows of one analysis table for a cut (one row: the table and its count). The refresh counts
-- every table at once, these statements joined by `union all` (`refresh._counts`).
select
    '{{ table }}' as table_name,
    count(*) as row_count
from analysis.{{ table }}
where data_cut = $cut
