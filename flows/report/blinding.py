"""Blinding in the report: how arms are shown, and the checks that a blinded page cannot encode
the allocation.

The warehouse holds blinded letters only (the allocation is masked at intake,
`runback.flows.allocation`), so a blinded report needs no key: arms are "Arm A/B/C", listed in
letter order. An unblinded report maps each letter to its arm through the key (checked against
the warehouse's fingerprint) and lists arms in the protocol's order. An open report pools the
arms: one column, "All participants", and no arm letter anywhere (`check_pooled`).

The checks are structural, not only words: free text that names an arm or a programme is
withheld (never rewritten), after normalising Unicode (NFKC, zero-width and format characters
removed) so that a hidden character cannot smuggle a name past the scan; every listing of arms
must be in letter order; and the finished page is scanned once more before it is written.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from runback.schemas.arms import ARM_NAMES, ARM_ORDER, ARM_PAIRS, BLINDED_ARMS

if TYPE_CHECKING:  # the key module loads pyarrow (for masking at intake), which a report does not need
    from runback.flows.allocation import Key

WITHHELD = "[withheld: may reveal allocation]"
POOLED = "all"
"""The one 'arm' of an open report: every participant, whatever the allocation."""


@dataclass(frozen=True)
class Arms:
    """How a report shows the arms: a label per letter (as the warehouse holds them), in display order."""

    labels: dict[str, str]  # letter -> label shown ("Arm B" or "LE: Lumbar extensor strengthening")
    blinded: bool
    codes: dict[str, str] = field(default_factory=dict)  # letter -> arm code, unblinded only
    fingerprint: str | None = None  # of the key that unblinded the report

    @property
    def order(self) -> list[str]:
        """Letters in display order: by letter when blinded (so the order reveals nothing), else by
        the protocol's order of the arms they stand for (LL, LE, LS)."""
        if self.blinded:
            return sorted(self.labels)
        return sorted(self.labels, key=lambda letter: ARM_ORDER.index(self.codes[letter]))

    @property
    def pooled(self) -> bool:
        """An open report's arms: pooled, never shown apart."""
        return set(self.labels) == {POOLED}

    def short(self, letter: str) -> str:
        """A short label for tables and charts: 'Arm B' blinded, 'LE' unblinded."""
        return self.labels[letter] if self.blinded else self.codes[letter]

    def pairs(self) -> list[tuple[str, str]]:
        """The pairs of arms a report shows, as letters: blinded, every pair as later letter minus
        earlier; unblinded, the plan's pairs (LE - LL, LS - LL, LS - LE)."""
        if self.blinded:
            order = self.order
            return [(order[j], order[i]) for i in range(len(order)) for j in range(i + 1, len(order))]
        letter = {arm: code for code, arm in self.codes.items()}
        return [(letter[later], letter[earlier]) for later, earlier in ARM_PAIRS]


def arms_for(blinded: bool, key: Key | None = None, pooled: bool = False) -> Arms:
    """The arm labels of a report: letters, or (with the key) the arms they stand for, or (an open
    report) the arms pooled."""
    if pooled:
        return Arms({POOLED: "All participants"}, blinded=True)
    if blinded:
        return Arms({letter: f"Arm {letter}" for letter in BLINDED_ARMS}, blinded=True)
    if key is None:
        raise ValueError("an unblinded report needs the allocation key")
    codes = {letter: arm for arm, letter in key.letters.items()}
    return Arms({letter: f"{arm}: {ARM_NAMES[arm]}" for letter, arm in codes.items()}, False, codes, key.fingerprint)


_INVISIBLE = re.compile(
    r"[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    r"\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]"
)
"""Characters that show as nothing (or as a blank): zero-width, joiners, fillers, variation
selectors, tags, the braille blank."""
_HIDDEN_CATEGORIES = {"Cf", "Cc", "Co", "Cn", "Mn", "Me"}  # format, control, private, unassigned, combining marks
_LOOKALIKES = str.maketrans(
    "АВЕЅІЈКМНОРСТХУаеѕіјорсухԛԝΑΒΕΖΗΙΚΜΝΟΡΤΥΧοιν",
    "ABESIJKMHOPCTXYaesijopcyxqwABEZHIKMNOPTYXoiv",
)
"""Cyrillic and Greek letters that look like Latin ones (Unicode's confusables of the letters
that spell the arms), read as those Latin letters."""
_NOT_ALNUM = re.compile(r"[^0-9a-zA-Z]+")


_OVERRIDDEN = re.compile("\u202e([^\u202c]*)(?:\u202c|$)")
"""A right-to-left override: the characters up to its end are shown in reverse order."""


def as_shown(text: str) -> str:
    """Text in the order a reader sees it: a right-to-left override's span reversed (`\u202eSL\u202c`
    shows as "LS")."""
    return _OVERRIDDEN.sub(lambda m: m.group(1)[::-1], text)


def skeleton(text: str, casefold: bool = True) -> str:
    """Text as the scan reads it, whatever was done to hide a word in it: in the order it is shown
    (right-to-left overrides applied), NFKC (full-width and other compatibility forms folded),
    invisible and bidirectional characters and combining marks removed, Cyrillic and Greek
    look-alikes read as Latin, accents dropped, and every run of other characters (hyphens,
    punctuation, line breaks, several spaces) read as one space."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", _INVISIBLE.sub("", as_shown(text))))
    folded = _NON_ASCII.sub(_unless_hidden, folded).translate(_LOOKALIKES)
    folded = _NOT_ALNUM.sub(" ", folded).strip()
    return folded.casefold() if casefold else folded


_NON_ASCII = re.compile(r"[^\x00-\x7f]")  # every hidden character is outside ASCII, but for the controls below
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def _unless_hidden(match: re.Match) -> str:
    return "" if unicodedata.category(match.group()) in _HIDDEN_CATEGORIES else match.group()


def revealing_terms() -> list[str]:
    """Words that would reveal allocation in a blinded report: the arms' names and the words that
    name a programme, as the scan reads them."""
    terms = set(ARM_NAMES.values()) | {
        "lower limb",
        "leg strengthening",
        "lumbar extensor",
        "extensor strengthening",
        "stabilisation",
        "stabilization",
        "core stability",
        "rand_group",
    }
    return sorted(skeleton(term) for term in terms)


_CODES = {code: re.compile(rf"(?<![^\W_]){code[0]}[\W_]{{0,3}}{code[1]}(?![^\W_])", re.I) for code in ARM_ORDER}
"""An arm code as a word of its own, in any case, its letters apart or not (LS, L.S., l-s, L S)."""


def find_revealing(text: str) -> list[str]:
    """The revealing terms present in a text: arm codes as words of their own (LL, LE, LS, in any
    case, their letters apart or not), and the names, in any case, whatever was put between or
    inside their letters."""
    plain = f" {skeleton(_CONTROLS.sub('', text), casefold=False)} "
    found = [code for code, pattern in _CODES.items() if pattern.search(plain)]
    folded = plain.casefold()
    glued = folded.replace(" ", "")  # words run together, or split by a character that shows as nothing
    return found + [term for term in revealing_terms() if f" {term} " in folded or term.replace(" ", "") in glued]


_ARM_LETTER = re.compile(rf"\b(?:arms?|groups?|grps?)\s*(?:[{''.join(BLINDED_ARMS).lower()}]|\s[a-z])\b")


def names_an_arm_letter(text: str) -> bool:
    """Whether free text names an arm by its letter ("Arm B", "group-c", "arm\u00a0a", "ArmB"): a blinded
    listing must not tie a row to a letter, and an open report names no arm at all."""
    return bool(_ARM_LETTER.search(skeleton(text)))


def withhold(text: str | None) -> tuple[str | None, bool]:
    """Free text as a blinded report may show it: unchanged, or withheld whole when it names an arm
    (by its name, its code, a programme's words or its letter) (never rewritten: a relabelled
    text would be false and would reveal the key)."""
    if not text or not (find_revealing(text) or names_an_arm_letter(text)):
        return text, False
    return WITHHELD, True


def check_letter_order(html: str) -> list[str]:
    """Problems with the order in which a blinded page lists its arms: every run of 'Arm X'
    labels within one element (a table header, a legend, a note) must be in letter order, or the
    order would say which arm is which to a reader who knows the protocol's order."""
    problems = []
    for block in re.findall(r">([^<]*)<", html):
        letters = re.findall(r"\bArm ([A-Z])\b", block)
        if letters != sorted(letters) and " − " not in block:  # a pair is later minus earlier
            problems.append(f"arms listed out of letter order: {' '.join(letters)}")
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, flags=re.S):
        letters = re.findall(r"\bArm ([A-Z])\b", row)
        if len(letters) > 1 and letters != sorted(letters) and "−" not in row:
            problems.append(f"a table row lists arms out of letter order: {' '.join(letters)}")
    return problems


def check_pooled(html: str) -> list[str]:
    """Problems with an open page: it must name no arm, not even by its letter."""
    return [f"an open report names {label}" for label in sorted(set(re.findall(r"\bArms? [A-Z]\b", html)))]
