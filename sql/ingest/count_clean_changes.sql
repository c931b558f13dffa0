-- How the export changes clean.<form> (one row): open rows to close, incoming rows to insert.
-- $codes_known: the export has the form's missing-data-code checkbox columns, so its missing
-- codes count; without them a row is unchanged when its values are.
with
open_rows as (
    select record_id, event, instance, row_hash, missing_codes from clean.{{ form }} where valid_to_cut is null
),
to_close as (
    select 1
    from open_rows
    where not exists (
        select 1 from incoming
        where
            incoming.record_id = open_rows.record_id and incoming.event = open_rows.event
            and incoming.instance = open_rows.instance and incoming.row_hash = open_rows.row_hash
            and (not $codes_known or incoming.missing_codes is not distinct from open_rows.missing_codes)
    )
    and not exists (
        select 1 from held
        where
            held.record_id = open_rows.record_id and held.event = open_rows.event
            and held.instance = open_rows.instance
    )
),
to_insert as (
    select 1
    from incoming
    where not exists (
        select 1 from open_rows
        where
            open_rows.record_id = incoming.record_id and open_rows.event = incoming.event
            and open_rows.instance = incoming.instance and open_rows.row_hash = incoming.row_hash
            and (not $codes_known or incoming.missing_codes is not distinct from open_rows.missing_codes)
    )
)
select (select count(*) from to_close) as closing, (select count(*) from to_insert) as inserting;
