-- Closes the validity of clean.<form> rows that the export changed or no longer has.
-- A row held back in quarantine keeps its last valid version open.
update clean.{{ form }} as c
set valid_to_cut = $cut
where
    c.valid_to_cut is null
    and not exists (
        select 1 from incoming
        where
            incoming.record_id = c.record_id and incoming.event = c.event
            and incoming.instance = c.instance and incoming.row_hash = c.row_hash
            and (not $codes_known or incoming.missing_codes is not distinct from c.missing_codes)
    )
    and not exists (
        select 1 from held
        where held.record_id = c.record_id and held.event = c.event and held.instance = c.instance
    );
