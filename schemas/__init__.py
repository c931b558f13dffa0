"""Contracts: the study definition read from the REDCap project, and one pandera model per form.

The form models (and pandera with them) are imported on first use of `MODELS`, so that code
which needs only the trial's definitions (the arms, the visits) starts quickly.
"""

from __future__ import annotations

from importlib import import_module

_MODELS = {
    "screening": ("screening", "Screening"),
    "baseline_characteristics": ("baseline_characteristics", "BaselineCharacteristics"),
    "randomisation": ("randomisation", "Randomisation"),
    "nprs": ("nprs", "Nprs"),
    "psfs": ("psfs", "Psfs"),
    "odi": ("odi", "Odi"),
    "physical_tests": ("physical_tests", "PhysicalTests"),
    "session_log": ("session_log", "SessionLog"),
    "adverse_event": ("adverse_event", "AdverseEvent"),
    "study_end": ("study_end", "StudyEnd"),
}
"""The trial's form models by REDCap form name: (module, class)."""


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
