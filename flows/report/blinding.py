"""Blinding: the allocation key that turns arms into Arm A/B/C, and the check that a blinded
report names no arm.

The key is a JSON file kept outside the warehouse (`RUNBACK_KEY`, default `data/allocation.key`),
made once by `runback key new` (or by the first blinded report when missing). It holds a random
permutation: which letter each arm gets. The same key gives the same letters in every report.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from runback.flows.errors import Refused
from runback.schemas.trial import ARM_NAMES, ARM_ORDER

LETTERS = ("A", "B", "C")


class KeyError_(Refused):
    """An allocation key file that cannot be used."""


@dataclass(frozen=True)
class Arms:
    """How a report shows the arms: label per arm code, in display order."""

    labels: dict[str, str]  # arm code -> label shown ("Arm B" or "LE: Lumbar extensor strengthening")
    blinded: bool

    @property
    def order(self) -> list[str]:
        """Arm codes in display order: by letter when blinded (so the order reveals nothing),
        else the protocol's order (LL, LE, LS)."""
        if self.blinded:
            return sorted(self.labels, key=lambda arm: self.labels[arm])
        return [arm for arm in ARM_ORDER if arm in self.labels]

    def short(self, arm: str) -> str:
        """A short label for tables and charts: 'Arm B' blinded, 'LE' unblinded."""
        return self.labels[arm] if self.blinded else arm


def new_key(path: Path) -> dict[str, str]:
    """Write a new random allocation key (refuses to overwrite one)."""
    if path.exists():
        raise KeyError_(f"an allocation key already exists at {path}; it is kept (the letters must not change)")
    letters = list(LETTERS)
    permutation = [letters.pop(secrets.randbelow(len(letters))) for _ in range(len(LETTERS))]
    key = dict(zip(ARM_NAMES, permutation, strict=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"arm_letters": key}, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def read_key(path: Path) -> dict[str, str]:
    """The arm -> letter permutation of a key file."""
    try:
        key = json.loads(Path(path).read_text(encoding="utf-8"))["arm_letters"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise KeyError_(f"cannot read the allocation key {path}: {err}") from None
    if sorted(key) != sorted(ARM_NAMES) or sorted(key.values()) != sorted(LETTERS):
        raise KeyError_(f"the allocation key {path} is not a permutation of {', '.join(LETTERS)} over the arms")
    return key


def arms_for(blinded: bool, key: dict[str, str]) -> Arms:
    """The arm labels of a report."""
    if blinded:
        return Arms({arm: f"Arm {letter}" for arm, letter in key.items()}, blinded=True)
    return Arms({arm: f"{arm}: {ARM_NAMES[arm]}" for arm in ARM_NAMES}, blinded=False)


def revealing_terms() -> list[str]:
    """Words that would reveal allocation in a blinded report: arm codes, names, their labels."""
    terms = set(ARM_NAMES) | set(ARM_NAMES.values())
    terms |= {name.lower() for name in ARM_NAMES.values()}
    terms |= {"lower limb", "lumbar extensor", "stabilisation", "stabilization", "rand_group"}
    return sorted(terms)


def find_revealing(text: str) -> list[str]:
    """The revealing terms present in a text (arm codes as whole words only)."""
    found = []
    for term in revealing_terms():
        pattern = rf"\b{re.escape(term)}\b" if term in ARM_ORDER else re.escape(term)
        if re.search(pattern, text, flags=0 if term in ARM_ORDER else re.IGNORECASE):
            found.append(term)
    return found
