-- Content hash of one analysis table's rows of the newest analysed cut, without the cut's id (one row).
select md5(coalesce(string_agg(row_text, '|' order by row_text), ''))
from (
    select t::varchar as row_text
    from (
        select * exclude (data_cut)
        from analysis.{{ table }}
        where data_cut = (select max(data_cut) from analysis.participants)
    ) as t
) as rows_as_text;
