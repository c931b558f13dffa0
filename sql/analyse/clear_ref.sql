-- Empties one reference table before it is written again from the study definition.
delete from ref.{{ table }};
