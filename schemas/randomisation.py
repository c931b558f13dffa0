"""Form `randomisation` (baseline event): the allocation. Final once made: a later export that
changes `rand_group` or `rand_date` raises a data query and the first value stands. The export's
code (1, 2, 3) is masked at intake: the model checks the blinded letter the warehouse holds."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import BLINDED_ARMS, choice, date, text


class Randomisation(FormModel):
    """Allocation: one row per randomised participant."""

    rand_date: Series[str] = date("Date of randomisation", required=True)
    rand_id: Series[str] = text("Allocation sequence number", required=True)
    rand_group: Series[str] = choice(
        "Allocated programme, as the blinded letter of the allocation key (masked at intake)",
        BLINDED_ARMS,
        required=True,
    )
    randomisation_complete: Series[str] = complete_field("randomisation")
