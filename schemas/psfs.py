"""Form `psfs`: Patient-Specific Functional Scale, up to three activities scored 0-10."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import FLAG, FormModel, complete_field, row_check
from runback.schemas.trial import date, integer, text

_UNNAMED = "a score is given for an activity that is not named; it is left out of the PSFS"


class Psfs(FormModel):
    """Running ability: one row per participant and assessment."""

    psfs_date: Series[str] = date("Date of assessment", required=True)
    psfs_act1: Series[str] = text("Activity 1 that is hard to do because of your back")
    psfs_score1: Series[str] = integer("Activity 1: current ability (0-10)", "0", "10")
    psfs_act2: Series[str] = text("Activity 2")
    psfs_score2: Series[str] = integer("Activity 2: current ability (0-10)", "0", "10")
    psfs_act3: Series[str] = text("Activity 3")
    psfs_score3: Series[str] = integer("Activity 3: current ability (0-10)", "0", "10")
    psfs_complete: Series[str] = complete_field("psfs")

    @row_check(column="psfs_score1", action=FLAG, reason=_UNNAMED)
    def score1_has_activity(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["psfs_score1"] == "") | (df["psfs_act1"] != "")

    @row_check(column="psfs_score2", action=FLAG, reason=_UNNAMED)
    def score2_has_activity(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["psfs_score2"] == "") | (df["psfs_act2"] != "")

    @row_check(column="psfs_score3", action=FLAG, reason=_UNNAMED)
    def score3_has_activity(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["psfs_score3"] == "") | (df["psfs_act3"] != "")
