"""Contracts: the study definition read from the REDCap project, and one pandera model per form."""

from schemas.adverse_event import AdverseEvent
from schemas.baseline_characteristics import BaselineCharacteristics
from schemas.nprs import Nprs
from schemas.odi import Odi
from schemas.physical_tests import PhysicalTests
from schemas.psfs import Psfs
from schemas.randomisation import Randomisation
from schemas.screening import Screening
from schemas.session_log import SessionLog
from schemas.study_end import StudyEnd

MODELS = {
    "screening": Screening,
    "baseline_characteristics": BaselineCharacteristics,
    "randomisation": Randomisation,
    "nprs": Nprs,
    "psfs": Psfs,
    "odi": Odi,
    "physical_tests": PhysicalTests,
    "session_log": SessionLog,
    "adverse_event": AdverseEvent,
    "study_end": StudyEnd,
}
"""The trial's form models by REDCap form name."""
