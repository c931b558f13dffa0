-- Rows of clean.<form> that do not trace to an applied file and an existing cut (one row per problem kind).
select 'clean.{{ form }}: rows whose file is not a loaded export' as problem, count(*) as n
from clean.{{ form }}
where file_id not in (select file_id from meta.source_files where status = $loaded)
having count(*) > 0
union all
select 'clean.{{ form }}: rows whose validity refers to a missing data cut', count(*)
from clean.{{ form }}
where
    valid_from_cut not in (select cut_id from meta.data_cuts)
    or (valid_to_cut is not null and valid_to_cut not in (select cut_id from meta.data_cuts))
having count(*) > 0;
