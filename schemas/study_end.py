"""Form `study_end`: status at the end of the study and reasons for not completing."""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import FLAG, FormModel, complete_field, row_check
from runback.schemas.trial import checkbox, choice, date, text


class StudyEnd(FormModel):
    """End of study: one row per randomised participant."""

    end_status: Series[str] = choice(
        "Status: 1 completed, 2 withdrew consent, 3 lost to follow-up, 4 excluded after randomisation",
        ("1", "2", "3", "4"),
        required=True,
    )
    end_date: Series[str] = date("Date of completion or last contact", required=True)
    end_reason: Series[str] = checkbox("end_reason", "Reason(s) for not completing", ("1", "2", "3", "4", "99"))
    end_reason_other: Series[str] = text("Other reason, specify")
    study_end_complete: Series[str] = complete_field("study_end")

    @row_check(column="end_status", action=FLAG, reason="the participant did not complete but no reason is ticked")
    def non_completion_has_reason(cls, df: pd.DataFrame) -> Series[bool]:
        reasons = df.filter(regex=r"^end_reason___(1|2|3|4|99|unk|nask|asku|na)$")
        return (df["end_status"].isin(["", "1"])) | (reasons == "1").any(axis=1)
