-- Says what a table holds (the text is a quoted literal: DuckDB cannot bind a comment).
comment on table {{ schema }}.{{ table }} is {{ text }};
