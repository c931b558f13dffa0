"""The trial's arms: the allocation's codes, the protocol's order and names, the blinded letters.

Kept apart from the form models (no pandera, no pandas) so that blinding code and quick commands
can read them without loading the validation stack; `schemas/trial.py` re-exports them.
"""

from itertools import combinations

ARMS = {"1": "LL", "2": "LE", "3": "LS"}
"""`rand_group` code -> arm; LL (lower limb strengthening) is the reference arm."""

ALLOCATION_FIELDS = ("rand_group",)
"""The randomisation field(s): masked at intake to the blinded letter of the allocation key."""
BLINDED_ARMS = ("A", "B", "C")
"""What the warehouse holds for an arm: a letter, the allocation key says which arm it is."""

ARM_ORDER = tuple(ARMS.values())
"""The arms in the protocol's order (LL, LE, LS): the reference arm first."""
REFERENCE_ARM = ARM_ORDER[0]
ARM_PAIRS = tuple((later, earlier) for earlier, later in combinations(ARM_ORDER, 2))
"""Every pairwise contrast, later minus earlier (LE - LL, LS - LL, LS - LE): the plan's two
against the reference, and LS - LE so that a blinded report shows all three pairs without
singling out the reference arm."""

ARM_NAMES = {
    "LL": "Lower limb strengthening",
    "LE": "Lumbar extensor strengthening",
    "LS": "Lumbar stabilisation",
}
