"""Form `session_log` (programme event, repeating): one instance per exercise session."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import choice, date, integer, text, yesno


class SessionLog(FormModel):
    """Exercise sessions: one row per participant and session (instance)."""

    sess_date: Series[str] = date("Session date", required=True)
    sess_week: Series[str] = integer("Programme week (1-8)", "1", "8", required=True)
    sess_type: Series[str] = choice("Session type: 1 supervised, 2 home", ("1", "2"), required=True)
    sess_done: Series[str] = yesno("Session completed as prescribed?", required=True)
    sess_rpe: Series[str] = integer("Session RPE (0-10)", "0", "10")
    sess_note: Series[str] = text("Physiotherapist notes")
    session_log_complete: Series[str] = complete_field("session_log")
