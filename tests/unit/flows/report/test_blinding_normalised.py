"""Text read as a person reads it before any blinding check: format characters, separators, case,
look-alikes and a right-to-left override never get an arm's name or code past the scan
(flows/report/blinding.py). A property test: every arm name and code, with format characters and
separators put between its letters and its case changed, is always withheld."""

from hypothesis import given, settings
from hypothesis import strategies as st

from runback.flows.report.blinding import WITHHELD, revealing_terms, withhold
from runback.schemas.arms import ARM_NAMES, ARM_ORDER

FORMAT = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202a\u202c", "\u2066\u2069", "\U000e0041"]
"""Characters that show as nothing (zero-width, joiners, soft hyphen, embeddings, isolates, a tag)."""
SEPARATORS = [" ", "-", ".", "_", "/", "\u00a0", "\u2009", "\u3000", "·", "\n"]
TERMS = [*ARM_ORDER, *ARM_NAMES.values(), "lower limb", "lumbar extensor", "stabilisation", "core stability"]


@st.composite
def disguised(draw):
    """An arm's name or code, its letters apart or hidden, its case changed, inside ordinary text."""
    term = draw(st.sampled_from(TERMS))
    letters = []
    for i, ch in enumerate(term):
        letters.append(ch.upper() if draw(st.booleans()) else ch.lower())
        if i < len(term) - 1:
            if len(term) == 2:  # a code: at most a few characters between its letters, as a person reads it
                letters += draw(st.lists(st.sampled_from(FORMAT + SEPARATORS[:3]), max_size=2))
            else:
                letters += draw(st.lists(st.sampled_from(FORMAT), max_size=2))
    before = draw(st.sampled_from(["", "Participant said ", "note: ", "("]))
    after = draw(st.sampled_from(["", " group", " felt better", ")", "."]))
    return before + "".join(letters) + after


@settings(max_examples=600, deadline=None)
@given(disguised())
def test_no_disguised_arm_name_or_code_gets_past(text):
    assert withhold(text) == (WITHHELD, True), repr(text)


def test_a_right_to_left_override_is_read_as_shown():
    assert withhold("\u202eSL\u202c group did better")[1]  # shows as "LS group did better"
    assert withhold("in arm \u202enoitasilibats\u202c")[1]


def test_words_run_together_or_spelled_with_points_are_read():
    for text in ("ArmB felt pain", "groupc", "L.S. group", "l-s", "Lumbar-Stabilisation", "lowerlimb"):
        assert withhold(text)[1], text


def test_ordinary_text_is_shown():
    for text in ("The army ran", "falls and hills", "She left early", "else", "pain 4/10", "Arm pain"):
        assert withhold(text) == (text, False), text


def test_the_terms_are_read_as_the_scan_reads_them():
    assert all(term == term.casefold() for term in revealing_terms())
