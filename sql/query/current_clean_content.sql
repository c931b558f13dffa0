-- Content hash of the rows of clean.<form> valid now, without provenance (one row).
select md5(coalesce(string_agg(row_text, '|' order by row_text), ''))
from (
    select t::varchar as row_text
    from (
        select * exclude (file_id, source_row, valid_from_cut, valid_to_cut)
        from clean.{{ form }}
        where valid_to_cut is null
    ) as t
) as rows_as_text;
