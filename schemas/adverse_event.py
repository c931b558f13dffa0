"""Form `adverse_event` (programme event, repeating): one instance per adverse event."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import checkbox, choice, date, text, yesno


class AdverseEvent(FormModel):
    """Adverse events: one row per participant and event (instance)."""

    ae_onset: Series[str] = date("Onset date", required=True)
    ae_desc: Series[str] = text("Description of the adverse event", required=True)
    ae_severity: Series[str] = choice("Severity: 1 mild, 2 moderate, 3 severe", ("1", "2", "3"), required=True)
    ae_serious: Series[str] = yesno("Serious adverse event?", required=True)
    ae_related: Series[str] = choice(
        "Relationship to the programme: 1 not related ... 5 definite", ("1", "2", "3", "4", "5"), required=True
    )
    ae_action: Series[str] = checkbox("ae_action", "Action taken", ("1", "2", "3", "4", "5"))
    adverse_event_complete: Series[str] = complete_field("adverse_event")
