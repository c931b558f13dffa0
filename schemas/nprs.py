"""Form `nprs`: numeric pain rating scale (0 no pain - 10 worst imaginable), last 7 days."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import date, integer


class Nprs(FormModel):
    """Pain ratings: one row per participant and assessment."""

    nprs_date: Series[str] = date("Date of assessment", required=True)
    nprs_run: Series[str] = integer("Low back pain during running, last 7 days (0-10)", "0", "10", required=True)
    nprs_avg: Series[str] = integer("Average low back pain, last 7 days (0-10)", "0", "10")
    nprs_complete: Series[str] = complete_field("nprs")
