"""Stage report: the follow-up report's numbers (context), charts, blinding and rendering."""
