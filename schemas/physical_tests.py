"""Form `physical_tests` (baseline and week 8): isokinetic knee torque, running gait, Sorensen."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import date, integer, number


class PhysicalTests(FormModel):
    """Physical tests: one row per participant and assessment."""

    pt_date: Series[str] = date("Date of testing", required=True)
    ke_torque_l: Series[str] = number("Knee extensor peak torque, left, 60 deg/s (Nm/kg)", "0.20", "5.00")
    ke_torque_r: Series[str] = number("Knee extensor peak torque, right, 60 deg/s (Nm/kg)", "0.20", "5.00")
    step_length_cm: Series[str] = number("Running step length at preferred speed (cm)", "50", "250")
    sorensen_s: Series[str] = integer("Sorensen back extensor endurance hold (s, capped at 240)", "0", "240")
    physical_tests_complete: Series[str] = complete_field("physical_tests")
