"""Planned looks and database lock.

`record_look()` records a cut as the next planned interim look of the plan's primary timepoint
(`runback look`, schemas/plan.py LOOKS) with the information fraction it observed, in
`meta.analysis_looks`; `lock()` declares the analysis cut of a timepoint once (`runback lock`):
the final look, recorded in `meta.analysis_locks` with the content hash of the cut's analysis
input, the runback version that locked it and the hash of its results (every analysis table's rows of
the cut), never changed afterwards, and refused while participants are still inside the window
unless forced with a reason. The final report of a timepoint uses its locked cut, and says when
it is made by another runback version or its results differ from those locked. Every other cut is
unplanned: its report says so and shows no between-arm p-value (flows/report/context.py).
`reach()` counts who has passed a timepoint's visit (its window closed by the cut's date, or
assessed at it), which a report states and a lock checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from runback.flows.analyse.tables import TABLES
from runback.flows.cuts import cuts
from runback.flows.errors import Refused
from runback.flows.hashing import frame_hash, hashes_hash, table_hash
from runback.flows.warehouse import rows, sql, table_columns, transaction
from runback.schemas import plan
from runback.schemas.trial import PRIMARY, TIMEPOINTS


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


@dataclass(frozen=True)
class Look:
    """A planned interim look taken: its number k, cut, and the information it observed."""

    timepoint: str
    look: int
    data_cut: int
    evaluable: int
    planned_total: int
    fraction: float
    planned_fraction: float
    content_hash: str


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
        f"analysis.{t}": _filled_hash(con, "query/current_analysis_content", {"cut": cut}, table=t)
        for t in TABLES
        if t != "data_queries"
    }
    return parts | {"analysis.data_queries": _filled_hash(con, "query/current_queries_content", {"cut": cut})}


def _filled_hash(con, statement: str, params: dict, **names: str) -> str:
    """The content hash of the rows a statement selects, without the columns empty in every row: a
    column a later migration adds to an analysis table leaves the results locked before it the same."""
    return frame_hash(con.execute(sql(statement, **names), params).df().dropna(axis=1, how="all"))


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


def looks(con, timepoint: str) -> list[Look]:
    """The planned interim looks taken at a timepoint, in order (none before the table exists)."""
    if not table_columns(con, "meta", "analysis_looks"):
        return []
    return [Look(timepoint, *row) for row in rows(con, "analyse/looks_of", {"timepoint": timepoint})]


def record_look(con, timepoint: str, cut: int | None = None, study=None) -> Look:
    """Record a cut (default: the newest) as the next planned interim look of the timepoint, with
    the information fraction it observed; refused when the plan has no interim look left there,
    when the timepoint is locked, or when the cut is not after the last look."""
    taken = looks(con, timepoint)
    _check_look_left(con, timepoint, taken)
    cut_id = _analysed_cut(con, cut, study)
    if taken and cut_id <= taken[-1].data_cut:
        raise Refused(
            f"data cut {cut_id} is not after data cut {taken[-1].data_cut}, interim look {taken[-1].look}.",
            "A look is a later cut than the looks before it.",
        )
    (evaluable,) = rows(
        con, "analyse/evaluable", {"cut": cut_id, "visit": TIMEPOINTS[timepoint][-1], "params": list(PRIMARY)}
    )[0]
    fraction = evaluable / plan.LOOKS.total
    if fraction >= 1 or (taken and fraction <= taken[-1].fraction) or fraction <= 0:
        raise Refused(
            f"data cut {cut_id} has an information fraction of {fraction:.3f} ({evaluable} of {plan.LOOKS.total}), "
            "not between the last look's and 1.",
            "An interim look needs more information than the last look and less than the final analysis "
            "(`runback lock`).",
        )
    found = Look(
        timepoint,
        len(taken) + 1,
        cut_id,
        int(evaluable),
        plan.LOOKS.total,
        fraction,
        plan.LOOKS.interim[len(taken)],
        content_hash(con, cut_id),
    )
    with transaction(con):
        con.execute(
            sql("analyse/insert_look"),
            {
                "timepoint": timepoint,
                "look": found.look,
                "cut": cut_id,
                "evaluable": found.evaluable,
                "planned_total": found.planned_total,
                "fraction": found.fraction,
                "planned_fraction": found.planned_fraction,
                "content_hash": found.content_hash,
            },
        )
    return found


def _check_look_left(con, timepoint: str, taken: list[Look]) -> None:
    """Refused unless the plan has an interim look left at the timepoint and it is not locked."""
    if timepoint != plan.LOOKS.timepoint:
        raise Refused(
            f"the analysis plan has no interim look at {timepoint}.",
            f"Interim looks are planned at {plan.LOOKS.timepoint} only; the final analysis is `runback lock`.",
        )
    existing = locked(con, timepoint)
    if existing:
        raise Refused(
            f"{timepoint} is already locked at data cut {existing.data_cut}: the final analysis was its last look.",
            "A look is recorded before the lock.",
        )
    if len(taken) >= len(plan.LOOKS.interim):
        raise Refused(
            f"the analysis plan's {len(plan.LOOKS.interim)} interim look(s) at {timepoint} have been taken "
            f"(the last at data cut {taken[-1].data_cut}).",
            "The next look is the final analysis: `runback lock`.",
        )


def _analysed_cut(con, cut: int | None, study):
    """The cut asked for (default: the newest), analysed first when it never was and the study
    definition is given, refused otherwise."""
    known = cuts(con)
    cut_id = known.chosen(cut)
    if not known.is_analysed(cut_id):
        if study is None:
            known.chosen_analysed(cut_id)  # refused: the cut is not analysed
        from runback.flows.analyse.refresh import refresh_analysis

        refresh_analysis(con, study, cut_id)
    return int(cut_id)


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
    cut_id = _analysed_cut(con, cut, study)
    taken = looks(con, timepoint)
    if taken and cut_id <= taken[-1].data_cut:
        raise Refused(
            f"data cut {cut_id} is not after data cut {taken[-1].data_cut}, interim look {taken[-1].look}.",
            "The final analysis is a later cut than the interim looks.",
        )
    (clean_hash,) = rows(con, "analyse/clean_hash", {"cut": cut_id})[0]
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


def verify(con, taken: Lock | Look) -> bool:
    """Whether the cut of a lock or of a planned look still has the analysis input it had then."""
    return content_hash(con, taken.data_cut) == taken.content_hash


def same_results(con, lock_: Lock) -> bool | None:
    """Whether the locked cut's results are those locked (None: the lock did not record them)."""
    return None if lock_.results_hash is None else results_hash(con, lock_.data_cut) == lock_.results_hash
