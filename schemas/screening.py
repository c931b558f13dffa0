"""The row checks of form `screening` (baseline event); its fields and their checks are the dictionary's."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import FLAG, FormModel, row_check


class Screening(FormModel):
    """Screening visit: consent given has its date."""

    @row_check(
        column="consent_date", action=FLAG, reason="consent is recorded as given but the date of consent is blank"
    )
    def consent_has_date(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["consent"] != "1") | (df["consent_date"] != "")
