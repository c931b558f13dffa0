-- analysis.data_queries for a cut: every quarantined row and every flag of the cut's export as a
-- data query; status against the previous cut: new, open (seen before), resolved (gone now).
insert into analysis.data_queries
with
cuts as (
    -- the cut and the one before it
    select cut_id, file_id
    from meta.data_cuts
    where cut_id = $cut or cut_id = (select max(d.cut_id) from meta.data_cuts as d where d.cut_id < $cut)
),

failures as (
    select 'quarantine' as action, * from quarantine.rows
    union all
    select 'flag', * from quarantine.flags
),

by_cut as (
    -- one row per query and cut; a query met on several rows of the export shows its first
    -- (grouped, not numbered by a window: half the time at 20,000 participants)
    select
        c.cut_id,
        data_query_id(f.action, f.form, f.record_id, f.event, f.instance, f."column", f."check") as query_id,
        f.action, f.form, f.record_id, f.event, f.instance, f."column",
        arg_min(f.value, f.source_row) as value,
        f."check",
        arg_min(f.reason, f.source_row) as reason
    from failures as f
    inner join cuts as c using (file_id)
    group by all
),

now_open as (
    select * from by_cut where cut_id = $cut
),

before as (
    select * from by_cut where cut_id != $cut
),

since as (
    select query_id, cut_id as since_cut from meta.data_query_first_cut
),

final as (
    select
        $cut as data_cut,
        coalesce(n.query_id, b.query_id) as query_id,
        coalesce(n.action, b.action) as action,
        coalesce(n.form, b.form) as form,
        coalesce(n.record_id, b.record_id) as record_id,
        coalesce(n.event, b.event) as event,
        coalesce(n.instance, b.instance) as instance,
        coalesce(n."column", b."column") as "column",
        coalesce(n.value, b.value) as value,
        coalesce(n."check", b."check") as "check",
        coalesce(n.reason, b.reason) as reason,
        s.since_cut,
        case when b.query_id is null then 'new' when n.query_id is null then 'resolved' else 'open' end as status
    from now_open as n
    full outer join before as b using (query_id)
    left join since as s on s.query_id = coalesce(n.query_id, b.query_id)
)

select * from final;
