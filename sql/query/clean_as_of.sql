-- clean.<form> as it was at a data cut: one row per (record, event, instance) valid then.
select * exclude (valid_from_cut, valid_to_cut)
from clean.{{ form }}
where valid_from_cut <= $cut and (valid_to_cut is null or valid_to_cut > $cut)
order by record_id, event, instance;
