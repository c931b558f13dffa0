"""The row checks of form `psfs` (Patient-Specific Functional Scale, up to three activities scored
0-10); its fields and their checks are the dictionary's."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import FLAG, FormModel, row_check

_UNNAMED = "a score is given for an activity that is not named; it is left out of the PSFS"


class Psfs(FormModel):
    """Running ability: a score needs the activity it scores."""

    @row_check(column="psfs_score1", action=FLAG, reason=_UNNAMED)
    def score1_has_activity(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["psfs_score1"] == "") | (df["psfs_act1"] != "")

    @row_check(column="psfs_score2", action=FLAG, reason=_UNNAMED)
    def score2_has_activity(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["psfs_score2"] == "") | (df["psfs_act2"] != "")

    @row_check(column="psfs_score3", action=FLAG, reason=_UNNAMED)
    def score3_has_activity(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["psfs_score3"] == "") | (df["psfs_act3"] != "")
