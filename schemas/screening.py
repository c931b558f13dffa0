"""Form `screening` (baseline event): eligibility, consent and reasons for not enrolling.

The contact fields (names, NRIC, phone, e-mail, date of birth) are identifiers: they are dropped
when an export is read and never reach this model.
"""

import pandas as pd
from pandera.typing import Series

from runback.schemas.form import FLAG, FormModel, complete_field, row_check
from runback.schemas.trial import checkbox, choice, date, integer, number, yesno


class Screening(FormModel):
    """Screening visit: one row per person screened."""

    scr_date: Series[str] = date("Date of screening", min="2013-04-01", required=True)
    sex: Series[str] = choice("Sex: 1 male, 2 female", ("1", "2"), required=True)
    age: Series[str] = number("Age at screening (years), calculated from the date of birth")
    runs_per_week: Series[str] = integer("Running sessions per week (usual)", "0", "14", required=True)
    lbp_months: Series[str] = integer("Duration of current low back pain (months)", "0", "600", required=True)
    waitlist: Series[str] = yesno("On the physiotherapy waiting list for low back pain?", required=True)
    eligible: Series[str] = yesno("Eligible for the trial?", required=True)
    excl_reason: Series[str] = checkbox("excl_reason", "Reason(s) not enrolled", ("1", "2", "3", "4", "5", "99"))
    consent: Series[str] = yesno("Written informed consent given?")
    consent_date: Series[str] = date("Date of consent")
    screening_complete: Series[str] = complete_field("screening")

    @row_check(
        column="consent_date", action=FLAG, reason="consent is recorded as given but the date of consent is blank"
    )
    def consent_has_date(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["consent"] != "1") | (df["consent_date"] != "")
