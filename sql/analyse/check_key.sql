-- The keys of analysis.{{ table }} that more than one row of a cut holds (one row per such key, with
-- its count; at most 5): the key's columns are those named in $key.
select columns(lambda c: list_contains($key, c)), count(*) as n
from analysis.{{ table }}
where data_cut = $cut
group by all
having count(*) > 1
order by all
limit 5;
