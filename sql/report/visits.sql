-- The assessment visits and their windows (days from randomisation).
select * from ref.visits where step is not null order by sort;
