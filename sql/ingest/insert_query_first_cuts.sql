-- The data queries a new cut's export raised that no earlier cut raised: first raised in this cut.
insert or ignore into meta.data_query_first_cut
select distinct
    data_query_id(f.action, f.form, f.record_id, f.event, f.instance, f."column", f."check") as query_id,
    $cut as cut_id
from (
    select 'quarantine' as action, * from quarantine.rows where file_id = $file_id
    union all
    select 'flag', * from quarantine.flags where file_id = $file_id
) as f;
