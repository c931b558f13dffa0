-- Which participants' visit windows had closed by the cut's date (one row: count and an order-free
-- checksum): all that the tables reading the cut's date depend on it through.
with
cut as (
    select export_time::date as cut_date from meta.data_cuts where cut_id = $cut
)

select count(*), coalesce(bit_xor(hash(p.record_id, v.visit)), 0)
from analysis.participants as p
cross join ref.visits as v
where p.data_cut = $cut and window_closed(p.rand_date, v.window_high, (select cut_date from cut));
