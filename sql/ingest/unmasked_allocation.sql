-- Whether clean.{{ form }} holds an allocation that was never masked (an older warehouse): one
-- row, the number of such rows (0 when the table does not exist yet is the caller's concern).
select count(*) from clean.{{ form }} where rand_group is not null and rand_group not in ('A', 'B', 'C');
