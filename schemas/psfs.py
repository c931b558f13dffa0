"""Form `psfs`: Patient-Specific Functional Scale, up to three activities scored 0-10.

A score is shown only for a named activity (the dictionary's branching logic `[psfs_act1] <> ''`):
a score given for an activity that is not named is flagged by that logic (`hidden_with_value`)
and left out of the PSFS."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import date, integer, text


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
