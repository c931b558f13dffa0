"""Form `baseline_characteristics` (baseline event): body size, running history, prior care."""

from pandera.typing import Series

from runback.schemas.form import FormModel, complete_field
from runback.schemas.trial import checkbox, number


class BaselineCharacteristics(FormModel):
    """Baseline characteristics: one row per randomised participant."""

    height_cm: Series[str] = number("Height (cm)", "120", "220")
    weight_kg: Series[str] = number("Body mass (kg)", "30", "200")
    bmi: Series[str] = number("BMI (kg/m2), calculated")
    running_years: Series[str] = number("Years of regular running", "0", "70")
    weekly_km: Series[str] = number("Usual weekly running distance (km)", "0", "250")
    prior_treatment: Series[str] = checkbox(
        "prior_treatment", "Treatment received for LBP in the past 12 months", ("1", "2", "3", "4", "5", "99")
    )
    baseline_characteristics_complete: Series[str] = complete_field("baseline_characteristics")
