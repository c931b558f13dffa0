-- Stores the form rows of an export whose text is not in raw.<form> yet (one row per new version).
insert into raw.{{ form }} by name
select incoming.*
from incoming_raw as incoming
where not exists (
    select 1
    from raw.{{ form }} as seen
    where
        seen.record_id = incoming.record_id
        and seen.redcap_event_name = incoming.redcap_event_name
        and seen.redcap_repeat_instance = incoming.redcap_repeat_instance
        and seen.row_hash = incoming.row_hash
);
