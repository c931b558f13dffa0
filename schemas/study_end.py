"""The row checks of form `study_end`; its fields and their checks are the dictionary's."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import FLAG, FormModel, row_check


class StudyEnd(FormModel):
    """End of study: a participant who did not complete has a reason ticked."""

    @row_check(column="end_status", action=FLAG, reason="the participant did not complete but no reason is ticked")
    def non_completion_has_reason(cls, df: pd.DataFrame) -> Series[bool]:
        reasons = df.filter(regex=r"^end_reason___(1|2|3|4|99|unk|nask|asku|na)$")
        return (df["end_status"].isin(["", "1"])) | (reasons == "1").any(axis=1)
