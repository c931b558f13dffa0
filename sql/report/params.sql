-- The outcome parameters: label, unit, direction, MCID, derivation.
select * from ref.params order by sort;
