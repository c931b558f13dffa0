-- Content hash of clean.<form> as of a cut (one row): keys and row hashes of the rows valid then.
select
    md5(coalesce(string_agg(
        concat_ws('|', record_id, event, instance, row_hash), ',' order by record_id, event, instance
    ), ''))
from clean.{{ form }}
where valid_from_cut <= $cut and (valid_to_cut is null or valid_to_cut > $cut);
