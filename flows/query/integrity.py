"""Integrity of a warehouse: every clean row traces to a loaded file and a cut, every cut to its
file, row counts agree with the quarantine; and a content hash of the current state.

`runback check` runs the checks; tests use them after crashes, and the content hash to show that
ingesting the same exports in any order, with repeats, gives the same warehouse.
"""

from __future__ import annotations

from runback.flows.analyse import lock
from runback.flows.cuts import cuts
from runback.flows.hashing import hashes_hash, table_hash
from runback.flows.warehouse import form_tables, rows
from runback.schemas.file_status import APPLIED, RECORDED, FileStatus
from runback.schemas.trial import TIMEPOINTS


def problems(con) -> list[str]:
    """Everything that is not as it must be (empty for a sound warehouse)."""
    found = []
    for form in form_tables(con, "clean"):
        found += [
            f"{p} ({n})"
            for p, n in rows(con, "query/integrity_clean_provenance", {"loaded": FileStatus.LOADED.value}, form=form)
        ]
    found += [
        p for p, _ in rows(con, "query/integrity_cuts", {"loaded": FileStatus.LOADED.value, "recorded": RECORDED})
    ]
    found += [p for p, _ in rows(con, "query/integrity_file_forms", {"applied": APPLIED})]
    for timepoint in TIMEPOINTS:
        locked = lock.locked(con, timepoint)
        if locked is not None and not lock.verify(con, locked):
            found.append(
                f"{timepoint} is locked at data cut {locked.data_cut}, whose analysis input no longer matches "
                "the content locked"
            )
    known = cuts(con)
    if known.analysed and known.latest in known.unanalysed:  # another REDCap project is never analysed
        found.append(f"data cut {known.latest} was loaded but not analysed: the next `runback ingest` analyses it")
    return found


def unanalysed(con) -> tuple[int, ...]:
    """The cuts loaded but not analysed (a night analyses them all; ingesting files one by one does not)."""
    known = cuts(con)
    return known.unanalysed if known.analysed else ()


def content_hash(con) -> str:
    """Hash of the clean layer valid now and of the newest cut's analysis, without provenance
    (file ids, row numbers, cut ids): equal for equal content, however it was loaded."""
    parts = {f"clean.{f}": table_hash(con, "query/current_clean_content", form=f) for f in form_tables(con, "clean")}
    analysed = cuts(con).analysed
    if analysed:
        parts |= lock.results_parts(con, analysed[-1])
    return hashes_hash(parts)
