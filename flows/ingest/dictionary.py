"""Data dictionary versions: what changed between two dictionaries, and whether it breaks.

A dictionary that only adds fields or choices, or changes labels, notes or ranges, is recorded
and used. One that removes a field, changes its type, moves it to another form or removes choices
breaks what is already in the warehouse: the export is refused with a readable diff unless the
ingest is run with `--accept-dictionary`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from runback.schemas.dictionary_logic import dictionary_logic
from runback.schemas.study import Study


def definition(study: Study) -> list[dict]:
    """The fields as plain data (what meta.dictionary_versions stores); a field whose branching
    logic or calculation is not evaluated says so, and why (`logic_not_checked`)."""
    unchecked = dictionary_logic(study).not_checked_by_field()
    return [
        dataclasses.asdict(f)
        | {"kind": f.kind}
        | ({"logic_not_checked": unchecked[f.name]} if f.name in unchecked else {})
        for f in study.fields
    ]


def sha256(fields: list[dict]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def diff(before: list[dict] | None, after: list[dict]) -> dict:
    """Fields added, removed and changed (with what changed) from `before` to `after`."""
    if before is None:
        return {"added": [f["name"] for f in after], "removed": [], "changed": {}}
    old, new = {f["name"]: f for f in before}, {f["name"]: f for f in after}
    changed = {}
    for name in new.keys() & old.keys():
        what = {  # an attribute an older runback did not record (absent) is no change
            k: [_plain(old[name][k]), _plain(new[name][k])]
            for k in new[name]
            if k in old[name] and _plain(old[name][k]) != _plain(new[name][k])
        }
        if what:
            changed[name] = what
    return {
        "added": [n for n in new if n not in old],
        "removed": [n for n in old if n not in new],
        "changed": dict(sorted(changed.items())),
    }


def breaking(change: dict) -> list[str]:
    """The changes that break data already loaded, as sentences (empty when none)."""
    problems = [f"field {name} was removed" for name in change["removed"]]
    for name, what in change["changed"].items():
        if "kind" in what:
            problems.append(f"field {name} changed type from {what['kind'][0]} to {what['kind'][1]}")
        if "form" in what:
            problems.append(f"field {name} moved from form {what['form'][0]} to {what['form'][1]}")
        if "choices" in what:
            gone = {c[0] for c in what["choices"][0]} - {c[0] for c in what["choices"][1]}
            if gone:
                problems.append(f"field {name} lost the choice code(s) {', '.join(sorted(gone))}")
    return problems


def unmarked_identifiers(change: dict) -> list[str]:
    """Fields the earlier dictionary marked as identifiers and this one no longer does: a change
    that would store their values, so it needs its own acceptance (never taken as harmless)."""
    return sorted(
        name
        for name, what in change["changed"].items()
        if "identifier" in what and what["identifier"][0] and not what["identifier"][1]
    )


def describe(change: dict) -> str:
    """A short readable summary of a diff."""
    parts = []
    if change["added"]:
        parts.append("added " + ", ".join(change["added"]))
    if change["removed"]:
        parts.append("removed " + ", ".join(change["removed"]))
    if change["changed"]:
        parts.append("changed " + ", ".join(f"{n} ({', '.join(w)})" for n, w in change["changed"].items()))
    return "; ".join(parts) or "no change"


def _plain(value):
    """JSON-comparable form of a field attribute (tuples of choices become lists)."""
    return json.loads(json.dumps(value))
