"""The row checks of form `co_intervention` (repeating, follow-up events); its fields and their checks
are the dictionary's."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import QUARANTINE, FormModel, row_check


class CoIntervention(FormModel):
    """A treatment for low back pain outside the trial: it cannot stop before it started."""

    @row_check(column="cointv_stop", action=QUARANTINE, reason="the treatment's stop date is before its start date")
    def stops_after_it_starts(cls, df: pd.DataFrame) -> Series[bool]:
        start = pd.to_datetime(df["cointv_start"], format="%Y-%m-%d", errors="coerce")
        stop = pd.to_datetime(df["cointv_stop"], format="%Y-%m-%d", errors="coerce")
        return ~(stop < start)
