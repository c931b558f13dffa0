"""Interim looks and database lock.

A cut in which not every randomised participant has passed a timepoint's visit (its window closed
by the cut's date, or they were assessed at it) is an *interim* look at that timepoint: its report
says "n of N have reached week 8" and its p-values are nominal. `lock()` declares the analysis cut
of a timepoint once (`runback lock`): recorded in `meta.analysis_locks` with the content hash of
the cut's analysis input, the runback version that locked it and the hash of its results (every
analysis table's rows of the cut), never changed afterwards, and refused while participants are
still inside the window unless forced with a reason. The final report of a timepoint uses its
locked cut, and says when it is made by another runback version or its results differ from those locked.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from runback.flows.analyse.tables import TABLES
from runback.flows.cuts import cuts
from runback.flows.errors import Refused
from runback.flows.hashing import hashes_hash, table_hash
from runback.flows.warehouse import rows, sql, table_columns, transaction
from runback.schemas.trial import TIMEPOINTS


@dataclass(frozen=True)
class Reach:
    """Randomised participants of a cut, and how many have passed the timepoint's visit."""

    timepoint: str
    reached: int
    randomised: int

    @property
    def interim(self) -> bool:
        return self.reached < self.randomised


@dataclass(frozen=True)
class Lock:
    """The locked analysis cut of a timepoint."""

    timepoint: str
    data_cut: int
    content_hash: str
    clean_hash: str
    reached: int
    randomised: int
    forced: bool
    reason: str | None
    runback_version: str | None = None  # None: locked before locks recorded it
    results_hash: str | None = None


def reach(con, cut: int, timepoint: str) -> Reach:
    """How many of the cut's randomised participants have passed the timepoint's visit."""
    visit = TIMEPOINTS[timepoint][-1]
    randomised, reached = rows(con, "analyse/reached", {"cut": cut, "visit": visit})[0]
    return Reach(timepoint, int(reached or 0), int(randomised or 0))


def content_hash(con, cut: int) -> str:
    """SHA-256 of the cut's analysis input (outcomes with their participants' covariates)."""
    return table_hash(con, "analyse/lock_input", {"cut": cut})


def version() -> str:
    """The runback version running now, as a lock records it."""
    return metadata.version("runback")


def results_parts(con, cut: int) -> dict[str, str]:
    """The content hash of each analysis table's rows of the cut (its data queries without their
    history, which depends on the cuts loaded before), by table."""
    parts = {
        f"analysis.{t}": table_hash(con, "query/current_analysis_content", {"cut": cut}, table=t)
        for t in TABLES
        if t != "data_queries"
    }
    return parts | {"analysis.data_queries": table_hash(con, "query/current_queries_content", {"cut": cut})}


def results_hash(con, cut: int) -> str:
    """SHA-256 of the cut's analysis results: equal when the same input is analysed by the same code."""
    return hashes_hash(results_parts(con, cut))


def locked(con, timepoint: str) -> Lock | None:
    """The lock of a timepoint, if there is one (none in a warehouse not yet migrated to locks)."""
    if not table_columns(con, "meta", "analysis_locks"):
        return None
    found = rows(con, "analyse/lock_of", {"timepoint": timepoint})
    if not found:
        return None
    timepoint_, cut, digest, clean, reached, randomised, forced, reason, _, software, results = found[0]
    return Lock(
        timepoint_, int(cut), digest, clean, int(reached), int(randomised), bool(forced), reason, software, results
    )


def lock(
    con, timepoint: str, cut: int | None = None, force: bool = False, reason: str | None = None, study=None
) -> Lock:
    """Lock the analysis cut of a timepoint (default: the newest cut); a cut never analysed is analysed
    first when the study definition is given, refused otherwise."""
    if timepoint not in TIMEPOINTS:
        raise Refused(f"there is no timepoint {timepoint!r}.", f"Use one of: {', '.join(TIMEPOINTS)}.")
    existing = locked(con, timepoint)
    if existing:
        raise Refused(
            f"{timepoint} is already locked at data cut {existing.data_cut} (content {existing.content_hash[:12]}).",
            "A lock is never changed; report on another cut with `runback report --data-cut N`.",
        )
    known = cuts(con)
    cut_id = known.chosen(cut)
    (clean_hash,) = rows(con, "analyse/clean_hash", {"cut": cut_id})[0]
    if not known.is_analysed(cut_id):
        if study is None:
            known.chosen_analysed(cut_id)  # refused: the cut is not analysed
        from runback.flows.analyse.refresh import refresh_analysis

        refresh_analysis(con, study, cut_id)
    seen = reach(con, cut_id, timepoint)
    if force and not (reason or "").strip():
        raise Refused("a forced lock needs a reason.", "Add --reason TEXT (it is recorded with the lock).")
    if seen.interim and not force:
        raise Refused(
            f"only {seen.reached} of {seen.randomised} randomised participants have reached {timepoint} at data "
            f"cut {cut_id}; the others are still inside the window.",
            "Wait for a later cut, or lock anyway with --force --reason TEXT.",
        )
    result = Lock(
        timepoint,
        int(cut_id),
        content_hash(con, cut_id),
        clean_hash,
        seen.reached,
        seen.randomised,
        force,
        reason.strip() if force and reason else None,
        version(),
        results_hash(con, cut_id),
    )
    with transaction(con):
        con.execute(
            sql("analyse/insert_lock"),
            {
                "timepoint": timepoint,
                "cut": result.data_cut,
                "content_hash": result.content_hash,
                "clean_hash": clean_hash,
                "reached": result.reached,
                "randomised": result.randomised,
                "forced": result.forced,
                "reason": result.reason,
                "runback_version": result.runback_version,
                "results_hash": result.results_hash,
            },
        )
    return result


def verify(con, lock_: Lock) -> bool:
    """Whether the locked cut's analysis input still has the content that was locked."""
    return content_hash(con, lock_.data_cut) == lock_.content_hash


def same_results(con, lock_: Lock) -> bool | None:
    """Whether the locked cut's results are those locked (None: the lock did not record them)."""
    return None if lock_.results_hash is None else results_hash(con, lock_.data_cut) == lock_.results_hash
