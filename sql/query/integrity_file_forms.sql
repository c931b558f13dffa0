-- Row conservation per applied file and form, and its agreement with the quarantine (one row per problem).
with
held as (
    select file_id, form, count(distinct source_row) as n from quarantine.rows group by all
),

applied as (
    select file_id from meta.source_files where list_contains($applied, status)
)

select 'file ' || file_id || ', form ' || form || ': rows in <> loaded + quarantined' as problem, 1 as n
from meta.file_forms
where rows_in <> loaded + quarantined
union all
select 'file ' || f.file_id || ', form ' || f.form || ': quarantine count differs from quarantine.rows', 1
from meta.file_forms as f
left join held as h using (file_id, form)
where f.quarantined <> coalesce(h.n, 0)
union all
select 'file ' || file_id || ' was applied but has no row counts', 1
from applied
where file_id not in (select file_id from meta.file_forms)
union all
select 'quarantine rows of file ' || file_id || ', which was not applied', count(*)
from quarantine.rows
where file_id not in (select file_id from applied)
group by file_id;
