-- The data cuts, oldest first: one row per cut with its export and size.
with
clean_rows as (
    select cut_id, sum(loaded) as form_rows_loaded, sum(quarantined) as quarantined, sum(flagged) as flagged
    from meta.data_cuts
    inner join meta.file_forms using (file_id)
    group by cut_id
),

final as (
    select
        c.cut_id as cut,
        strftime(c.export_time, '%Y-%m-%d %H:%M') as export_time,
        f.file_name as file,
        r.form_rows_loaded,
        r.quarantined,
        r.flagged
    from meta.data_cuts as c
    inner join meta.source_files as f using (file_id)
    left join clean_rows as r using (cut_id)
)

select * from final
order by cut;
