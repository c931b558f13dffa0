-- Content hash of the data queries open at the newest analysed cut, without their history
-- (since_cut, status and resolved queries depend on the cuts loaded before) (one row).
select md5(coalesce(string_agg(row_text, '|' order by row_text), ''))
from (
    select t::varchar as row_text
    from (
        select * exclude (data_cut, since_cut, status)
        from analysis.data_queries
        where data_cut = (select max(data_cut) from analysis.participants) and status <> 'resolved'
    ) as t
) as rows_as_text;
