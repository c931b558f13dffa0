"""Contracts: the study definition read from the REDCap project, and one pandera model per form."""

from runback.schemas.adverse_event import AdverseEvent
from runback.schemas.baseline_characteristics import BaselineCharacteristics
from runback.schemas.nprs import Nprs
from runback.schemas.odi import Odi
from runback.schemas.physical_tests import PhysicalTests
from runback.schemas.psfs import Psfs
from runback.schemas.randomisation import Randomisation
from runback.schemas.screening import Screening
from runback.schemas.session_log import SessionLog
from runback.schemas.study_end import StudyEnd

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
