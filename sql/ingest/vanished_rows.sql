-- Form rows valid now in clean.<form> whose key is not in the incoming snapshot (`present`):
-- what loading the snapshot would close. One row per key.
select c.record_id, c.event, c.instance
from clean.{{ form }} as c
where
    c.valid_to_cut is null
    and not exists (
        select 1 from present as p
        where p.record_id = c.record_id and p.event = c.event and p.instance = c.instance
    )
order by c.record_id, c.event, c.instance;
