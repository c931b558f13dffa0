-- Adds a column that a newer data dictionary brought to a per-form table (older rows hold NULL).
alter table {{ schema }}.{{ form }} add column {{ column }} {{ type }};
