-- Changes a column's type after an accepted dictionary change (values that do not cast become NULL).
alter table {{ schema }}.{{ form }} alter column {{ column }} set data type {{ type }}
using try_cast({{ column }} as {{ type }});
