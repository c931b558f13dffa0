"""Contracts: the study definition read from the REDCap project, the trial's definitions, and the
row checks of the forms that have some.

What a form's fields hold and which checks each one gets come from the data dictionary alone
(`form.schema_for`). A form model holds only what the dictionary cannot say: its row checks, which
read several fields of a row. The models (and pandera with them) are imported on first use of
`MODELS`, so that code which needs only the trial's definitions (the arms, the visits) starts quickly.
"""

from __future__ import annotations

from importlib import import_module

_MODELS = {
    "screening": ("screening", "Screening"),
    "study_end": ("study_end", "StudyEnd"),
    "running_status": ("running_status", "RunningStatus"),
    "co_intervention": ("co_intervention", "CoIntervention"),
}
"""The forms with row checks, by REDCap form name: (module, class of their row checks)."""


def __getattr__(name: str):
    """`MODELS`, and each model by its class name (`schemas.Nprs`), imported on first use."""
    if name == "MODELS":
        models = {form: getattr(import_module(f"{__name__}.{module}"), cls) for form, (module, cls) in _MODELS.items()}
        globals()["MODELS"] = models
        return models
    for module, cls in _MODELS.values():
        if cls == name:
            return getattr(import_module(f"{__name__}.{module}"), cls)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
