-- What the newest applied file holds back and flags: one row per form and check.
with
latest as (
    select max(file_id) as file_id from meta.source_files where list_contains($applied, status)
),

held as (
    select form, "check", count(distinct source_row) as form_rows, 'quarantined' as action
    from quarantine.rows
    where file_id = (select file_id from latest)
    group by all
),

flagged as (
    select form, "check", count(distinct source_row) as form_rows, 'flagged' as action
    from quarantine.flags
    where file_id = (select file_id from latest)
    group by all
),

final as (
    select * from held
    union all
    select * from flagged
)

select action, form, "check", form_rows from final
order by action desc, form asc, "check" asc;
