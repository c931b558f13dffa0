"""runback's report templates (jinja2) and styles, read by the follow-up report flow."""
