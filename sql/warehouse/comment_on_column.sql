-- Says what a column holds (the text is a quoted literal: DuckDB cannot bind a comment).
comment on column {{ schema }}.{{ table }}.{{ column }} is {{ text }};
