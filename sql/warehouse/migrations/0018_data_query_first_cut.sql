-- The data cut each data query was first raised in, kept as cuts are made, so that a cut's data
-- queries read their first cut from here instead of recomputing it from every earlier cut's
-- quarantine and flags (which grew with the history, `sql/analyse/data_queries.sql`).

-- A data query's id: the same check of the same field of the same form row (as the listing sent to sites names it).
create or replace macro data_query_id(action, form, record_id, event, instance, "column", "check") as
md5(concat_ws('|', action, form, record_id, event, instance, "column", "check"));

create table meta.data_query_first_cut (
    query_id varchar primary key,
    cut_id integer not null
);
comment on table meta.data_query_first_cut is
'The data cut each data query (a quarantined row or a flag, by its query_id) was first raised in';
comment on column meta.data_query_first_cut.query_id is 'The data query (analysis.data_queries.query_id)';
comment on column meta.data_query_first_cut.cut_id is 'First data cut whose export raised it';

insert into meta.data_query_first_cut
select
    data_query_id(f.action, f.form, f.record_id, f.event, f.instance, f."column", f."check") as query_id,
    min(c.cut_id) as cut_id
from (
    select 'quarantine' as action, * from quarantine.rows
    union all
    select 'flag', * from quarantine.flags
) as f
inner join meta.data_cuts as c on f.file_id = c.file_id
group by query_id;
