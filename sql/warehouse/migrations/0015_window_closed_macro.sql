-- Whether a participant's window for a visit had closed by a cut's date, said once for every
-- query that asks (missing data expected, visits reached before a lock, missing-data patterns,
-- non-adherence once the programme window has closed).
create or replace macro window_closed(rand_date, window_high, cut_date) as
rand_date + cast(window_high as integer) < cut_date;
