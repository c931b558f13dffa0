-- Creates clean.<form>: typed form rows, one per (record, event, instance) and validity interval.
create table if not exists clean.{{ form }} as
select
    *,
    null::integer as valid_from_cut,
    null::integer as valid_to_cut
from incoming
limit 0;
