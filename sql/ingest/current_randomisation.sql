-- The randomisation the warehouse holds (one row per record), as text: the first values stand.
select record_id, rand_group, strftime(rand_date, '%Y-%m-%d') as rand_date
from clean.randomisation
where valid_to_cut is null;
