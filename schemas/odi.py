"""Form `odi`: Oswestry Disability Index 2.1a, ten sections scored 0-5."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import choice, date

_SCORE = ("0", "1", "2", "3", "4", "5")


class Odi(FormModel):
    """Disability: one row per participant and assessment."""

    odi_date: Series[str] = date("Date of assessment", required=True)
    odi_q1: Series[str] = choice("Section 1: Pain intensity", _SCORE)
    odi_q2: Series[str] = choice("Section 2: Personal care", _SCORE)
    odi_q3: Series[str] = choice("Section 3: Lifting", _SCORE)
    odi_q4: Series[str] = choice("Section 4: Walking", _SCORE)
    odi_q5: Series[str] = choice("Section 5: Sitting", _SCORE)
    odi_q6: Series[str] = choice("Section 6: Standing", _SCORE)
    odi_q7: Series[str] = choice("Section 7: Sleeping", _SCORE)
    odi_q8: Series[str] = choice("Section 8: Sex life (if applicable)", _SCORE)
    odi_q9: Series[str] = choice("Section 9: Social life", _SCORE)
    odi_q10: Series[str] = choice("Section 10: Travelling", _SCORE)
    odi_complete: Series[str] = complete_field("odi")
