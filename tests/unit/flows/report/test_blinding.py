"""Blinding in the report (`flows/report/blinding.py`): how arms are shown, and the scans that keep a blinded
page from naming them."""

from pathlib import Path

import pytest

from runback.flows.allocation import Key
from runback.flows.report import blinding
from runback.flows.report.blinding import WITHHELD, Arms, arms_for

KEY = Key({"LL": "C", "LE": "A", "LS": "B"}, "0123456789abcdef", Path("k"))


# -- how arms are shown ----------------------------------------------------------------------------
def test_blinded_arms_are_letters_in_letter_order():
    arms = arms_for(True)
    assert arms.labels == {"A": "Arm A", "B": "Arm B", "C": "Arm C"} and arms.order == ["A", "B", "C"]
    assert arms.blinded and not arms.pooled and arms.codes == {} and arms.fingerprint is None
    assert [arms.short(letter) for letter in arms.order] == ["Arm A", "Arm B", "Arm C"]
    assert arms.pairs() == [("B", "A"), ("C", "A"), ("C", "B")]


def test_blinded_order_is_by_letter_whatever_order_the_labels_come_in():
    assert Arms({"C": "Arm C", "A": "Arm A", "B": "Arm B"}, blinded=True).order == ["A", "B", "C"]


def test_unblinded_arms_are_named_through_the_key_in_the_protocols_order():
    arms = arms_for(False, KEY)
    assert arms.labels == {
        "C": "LL: Lower limb strengthening",
        "A": "LE: Lumbar extensor strengthening",
        "B": "LS: Lumbar stabilisation",
    }
    assert (
        arms.blinded is False
        and arms.fingerprint == KEY.fingerprint
        and arms.codes == {"C": "LL", "A": "LE", "B": "LS"}
    )
    assert arms.order == ["C", "A", "B"] and [arms.short(x) for x in arms.order] == ["LL", "LE", "LS"]
    assert arms.pairs() == [("A", "C"), ("B", "C"), ("B", "A")]  # LE - LL, LS - LL, LS - LE


def test_an_unblinded_report_without_the_key_cannot_be_made():
    with pytest.raises(ValueError) as refused:
        arms_for(False)
    assert str(refused.value) == "an unblinded report needs the allocation key"


def test_an_open_report_pools_the_arms():
    arms = arms_for(False, KEY, pooled=True)
    assert arms.labels == {"all": "All participants"} and arms.pooled and arms.blinded
    assert arms.fingerprint is None and arms.order == ["all"]


# -- free text -------------------------------------------------------------------------------------
def test_the_scan_reads_text_as_plain_lowercase_words():
    assert blinding.skeleton("  Lumbar\u200b-EXTENSOR,\n\tstrengthening!  ") == "lumbar extensor strengthening"
    assert blinding.skeleton("Ĺ\u0415 Ｌｓ") == "le ls"  # an accent, a Cyrillic look-alike, full width
    assert blinding.skeleton("LE ls", casefold=False) == "LE ls"
    assert blinding.skeleton("A\u0301B\U000e0041C") == "abc"  # a combining mark, a tag character


def test_the_revealing_terms_are_the_arms_names_and_the_programmes_words():
    terms = blinding.revealing_terms()
    assert terms == sorted(terms) and len(terms) == len(set(terms))
    for term in ("lower limb strengthening", "lumbar extensor strengthening", "lumbar stabilisation", "rand group"):
        assert term in terms
    for term in ("lower limb", "leg strengthening", "lumbar extensor", "extensor strengthening"):
        assert term in terms
    for term in ("stabilisation", "stabilization", "core stability"):
        assert term in terms


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("seen in the LE class", ["LE"]),
        ("LL or LS", ["LL", "LS"]),
        ("le class", ["LE"]),  # a code is a word of its own, in any case (case is folded)
        ("ALLES", []),
        ("pain in the lower limb", ["lower limb"]),
        ("Lumbar Stabilisation", ["lumbar stabilisation", "stabilisation"]),
        ("lumbarstabilisation", ["lumbar stabilisation", "stabilisation"]),
        ("Lumbar stabili-sation", ["lumbar stabilisation", "stabilisation"]),
        ("core-stability", ["core stability"]),
        ("rand_group = 2", ["rand group"]),
        ("L\x00E and L\x1fS", ["LE", "LS"]),
        ("Shin pain", []),
    ],
)
def test_the_scan_finds_codes_and_names_however_they_are_written(text, found):
    assert blinding.find_revealing(text) == found


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Arm B", True),
        ("arms c", True),
        ("group-a", True),
        ("GRPS b", True),
        ("grp a", True),
        ("Arm\u00a0B", True),
        ("armchair b", False),
        ("arm bc", False),
        ("the arm", False),
        ("farm b", False),
    ],
)
def test_an_arm_named_by_its_letter_is_found(text, names):
    assert blinding.names_an_arm_letter(text) is names


@pytest.mark.parametrize("text", ["Knee pain in lower-limb programme", "moved to group C", "L\u0415 session"])
def test_free_text_naming_an_arm_is_withheld_whole(text):
    assert blinding.withhold(text) == (WITHHELD, True)


@pytest.mark.parametrize("text", ["Shin pain", "fell in the hall", "", None])
def test_free_text_naming_no_arm_is_shown_as_written(text):
    assert blinding.withhold(text) == (text, False)


# -- the finished page -----------------------------------------------------------------------------
def test_arms_listed_in_letter_order_pass():
    page = "<table><tr><th>Arm A</th><th>Arm B</th><th>Arm C</th></tr></table><p>Arm A, Arm B and Arm C</p>"
    assert blinding.check_letter_order(page) == []


def test_arms_listed_out_of_letter_order_in_one_element_are_found():
    assert blinding.check_letter_order("<p>Arm B, Arm A and Arm C</p>") == [
        "arms listed out of letter order: B A C",
    ]


def test_a_table_row_listing_arms_out_of_letter_order_is_found():
    page = "<table><tr><td>Arm C</td><td>Arm A</td></tr></table>"
    assert blinding.check_letter_order(page) == ["a table row lists arms out of letter order: C A"]


def test_a_table_row_spanning_lines_is_read_whole():
    page = '<table><tr class="x">\n<td>Arm B</td>\n<td>Arm A</td>\n</tr></table>'
    assert blinding.check_letter_order(page) == ["a table row lists arms out of letter order: B A"]


def test_a_pair_is_later_minus_earlier():
    assert blinding.check_letter_order("<table><tr><td>Arm C − Arm A</td><td>Arm B − Arm A</td></tr></table>") == []


def test_a_single_arm_per_row_is_in_order():
    assert blinding.check_letter_order("<table><tr><td>Arm C</td></tr><tr><td>Arm A</td></tr></table>") == []


def test_an_open_page_names_no_arm():
    assert blinding.check_pooled("<td>All participants</td><td>Armchair</td>") == []
    assert blinding.check_pooled("<th>Arm B: events</th><td>Arms A</td><td>Arm B</td>") == [
        "an open report names Arm B",
        "an open report names Arms A",
    ]
