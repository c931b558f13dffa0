-- Opens a validity interval for each incoming row that is not already open unchanged.
insert into clean.{{ form }} by name
select incoming.*, $cut as valid_from_cut, null::integer as valid_to_cut
from incoming
where not exists (
    select 1
    from clean.{{ form }} as c
    where
        c.valid_to_cut is null
        and c.record_id = incoming.record_id and c.event = incoming.event
        and c.instance = incoming.instance and c.row_hash = incoming.row_hash
        and (not $codes_known or incoming.missing_codes is not distinct from c.missing_codes)
);
