-- Retention at a visit, said once for every report that counts it: a participant is retained at
-- a visit when still in the trial on its planned day (ongoing, completed all assessments, or
-- ended on or after the planned day from randomisation).
create or replace macro retained_at(status, end_date, rand_date, day_offset) as
status in ('Ongoing', 'Completed all assessments') or end_date >= rand_date + cast(day_offset as integer);
