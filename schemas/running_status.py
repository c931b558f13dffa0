"""The row checks of form `running_status` (follow-up events); its fields and their checks are the dictionary's."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import QUARANTINE, FormModel, row_check


class RunningStatus(FormModel):
    """Running status at a follow-up visit: running cannot have stopped after the visit that reports it."""

    @row_check(
        column="run_stop_date",
        action=QUARANTINE,
        reason="the date running stopped is after the date of the assessment that reports it",
    )
    def stopped_before_the_assessment(cls, df: pd.DataFrame) -> Series[bool]:
        stopped = pd.to_datetime(df["run_stop_date"], format="%Y-%m-%d", errors="coerce")
        assessed = pd.to_datetime(df["run_date"], format="%Y-%m-%d", errors="coerce")
        return ~(stopped > assessed)
