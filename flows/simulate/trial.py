"""The whole simulated trial, and the nightly exports the trial team's job would have written.

`simulate()` recruits and randomises, lays out every participant's visits and programme, draws
outcomes, enters the forms into a REDCap-shaped table day by day, and writes a full "All data"
snapshot on `nights` dates spread evenly from two weeks after the first randomisation to the day
after the last form was entered (so the last night holds the complete trial). An export dated D
(02:00) holds every value entered before D. The data dictionary is copied beside the first night.

Randomness comes from `numpy.random.default_rng(seed)` only, split into one independent stream per
stage, so the same arguments always write the same bytes and `defects=True` changes only the
faults, not the trial underneath.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from runback.flows.ingest.project import load_project, project_files, read_rows
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import days, entry, forms, intercurrent, outcomes, people, schedule, sessions
from runback.flows.simulate.defects import MANIFEST_FILE, DefectPlan, ExtraRow, plan_defects
from runback.flows.simulate.export import HAND, RAW, data_file_name, dictionary_file_name, labels_dialect, write_export
from runback.flows.simulate.table import FormRows, Overlay, TrialTable
from runback.schemas.study import Study

FIRST_NIGHT_AFTER_DAYS = 14
"""The first export is this many days after the first randomisation."""
STAGES = (
    "people",
    "allocation",
    "schedule",
    "enrolment",
    "outcomes",
    "sessions",
    "entry",
    "corrections",
    "defects",
    "sites",
    "intercurrent",
)
"""One random stream per stage; a new stage goes last, so the earlier streams stay as they were."""


@dataclass
class SimulationResult:
    """What `simulate` wrote."""

    files: list[Path]
    """Nightly exports, oldest first."""
    dictionary: Path
    manifest: Path | None
    """`defects.json` when faults were injected."""
    participants: int
    """Randomised."""
    screened: int
    nights: list[dt.date] = field(default_factory=list)
    defects: list[dict] = field(default_factory=list)
    """The manifest's entries."""


def simulate(
    out: Path, participants: int = 84, seed: int = 1, defects: bool = False, nights: int = 10, sites: int = 1
) -> SimulationResult:
    """Write the simulated trial's nightly REDCap exports (and data dictionary) into `out`.

    With `sites` > 1 the trial recruits at that many sites (`people.SITES`) and every export has
    REDCap's data access group column (`redcap_data_access_group`, the site's unique group name);
    with one site the exports have no such column, as a single-site project's do.

    `out` is created if needed. It may already hold this same simulation (its files are
    rewritten), but not the exports of another one: mixing two trials' nights would make a
    nonsense inbox, so that is refused with a ValueError before anything is written.
    """
    if participants < 1 or nights < 1:
        raise ValueError("participants and nights must be at least 1")
    if not 1 <= sites <= len(people.SITES):
        raise ValueError(f"sites must be from 1 to {len(people.SITES)}")
    study = load_project()
    rng = dict(zip(STAGES, np.random.default_rng(seed).spawn(len(STAGES)), strict=True))
    cohort, randomised, table = _trial(rng, study, participants, sites)
    night_days = _night_days(table, randomised, nights)
    names = [data_file_name(days.date(d).isoformat()) for d in night_days]
    dictionary = Path(out) / dictionary_file_name(days.date(night_days[0]).isoformat())
    manifest = Path(out) / MANIFEST_FILE if defects else None
    _refuse_other_simulations(Path(out), [*names, dictionary.name, *([manifest.name] if manifest else [])])

    overlays = entry.corrections(rng["corrections"], study, table, night_days[-1])
    plan = DefectPlan()
    if defects:
        corrected = {int(table.record[o.row]) for o in overlays}
        plan = plan_defects(rng["defects"], table, night_days, names, table.header(), corrected)
    Path(out).mkdir(parents=True, exist_ok=True)
    files = _write_nights(Path(out), study, table, night_days, names, overlays, plan)
    shutil.copyfile(project_files(PROJECT_DIR)["dictionary"], dictionary)
    if manifest:
        manifest.write_text(json.dumps(plan.manifest, indent=2) + "\n", encoding="utf-8")
    return SimulationResult(
        files=files,
        dictionary=dictionary,
        manifest=manifest,
        participants=len(randomised),
        screened=len(cohort),
        nights=[days.date(d) for d in night_days],
        defects=plan.manifest,
    )


def _trial(rng: dict, study: Study, participants: int, sites: int) -> tuple[pd.DataFrame, pd.DataFrame, TrialTable]:
    """Everyone screened, the randomised among them, and every form they have in REDCap."""
    cohort = people.allocate(rng["allocation"], people.recruit(rng["people"], participants))
    groups = people.sites(rng["sites"], cohort["record"], sites) if sites > 1 else None
    randomised = cohort[cohort["randomised"]].reset_index(drop=True)
    timeline = schedule.plan(
        rng["schedule"], study, randomised["record"], randomised["consent_day"], randomised["rand_day"]
    )
    batches = _forms(rng, study, cohort, randomised, timeline)
    entry.enter(rng["entry"], batches)
    return cohort, randomised, TrialTable(study, batches, groups)


def _write_nights(
    out: Path,
    study: Study,
    table: TrialTable,
    night_days: list[int],
    names: list[str],
    overlays: list[Overlay],
    plan: DefectPlan,
) -> list[Path]:
    """Write each night's snapshot in its dialect, with that night's faults."""
    header = table.header()
    dialects = {None: RAW, "hand_export": HAND, "labels_header": labels_dialect(study, _event_names())}
    files = []
    for k, night in enumerate(night_days):
        dialect = dialects[plan.file_kind.get(k)]
        lines = table.lines(night, dialect, overlays + plan.overlays)
        extras = [e for e in plan.extra_rows if e.night == k]
        if extras:
            lines = _insert(lines.to_pylist(), table.present(night), extras)
        write_export(out / names[k], dialect.header(header), lines, dialect)
        files.append(out / names[k])
    return files


def _refuse_other_simulations(out: Path, names: list[str]) -> None:
    """Refuse a folder holding export files that this simulation would not write."""
    if not out.is_dir():
        return
    patterns = ("RUNBACK_DATA_*.csv", "RUNBACK_DataDictionary_*.csv", MANIFEST_FILE)
    others = sorted({p.name for pattern in patterns for p in out.glob(pattern)} - set(names))
    if others:
        shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise ValueError(
            f"{out} already holds files of another simulation ({shown}); "
            "write into an empty folder, or remove them first."
        )


def _forms(
    rng: dict, study: Study, cohort: pd.DataFrame, randomised: pd.DataFrame, timeline: schedule.Schedule
) -> list[FormRows]:
    """Every saved form of the trial, batch by batch."""
    arm = randomised["group"].to_numpy()
    return [
        forms.screening_form(study, cohort),
        forms.baseline_characteristics_form(rng["enrolment"], study, randomised, timeline),
        forms.randomisation_form(randomised, timeline),
        forms.study_end_form(rng["enrolment"], study, timeline),
        *outcomes.outcome_forms(rng["outcomes"], study, timeline, arm),
        *sessions.session_forms(rng["sessions"], timeline),
        *sessions.adverse_event_forms(rng["sessions"], timeline),
        *intercurrent.running_status_forms(rng["intercurrent"], timeline),
        *intercurrent.co_intervention_forms(rng["intercurrent"], timeline),
    ]


def _night_days(table: TrialTable, randomised: pd.DataFrame, nights: int) -> list[int]:
    """Export days spread evenly; the last is the day after the last entry (the complete trial)."""
    last = table.last_day() + 1
    first = min(int(randomised["rand_day"].min()) + FIRST_NIGHT_AFTER_DAYS, last)
    if nights == 1:
        return [last]
    spread = np.unique(np.round(np.linspace(first, last, nights)).astype(np.int64))
    if len(spread) < nights:
        raise ValueError(f"{nights} nights do not fit in the {last - first + 1} days of the trial")
    return [int(d) for d in spread]


def _insert(lines: list[str], rows: np.ndarray, extras: list[ExtraRow]) -> list[str]:
    """Add the extra lines of a night after the lines of the rows they follow."""
    added = []
    for extra in extras:
        text = extra.text
        if text is None:
            text = lines[int(np.searchsorted(rows, extra.source))]
            if extra.instance is not None:
                cells = text.split(RAW.delimiter, 4)
                cells[3] = str(extra.instance)
                text = RAW.delimiter.join(cells)
        added.append((int(np.searchsorted(rows, extra.after)), text))
    for position, text in sorted(added, reverse=True):
        lines.insert(position + 1, text)
    return lines


def _event_names() -> dict[str, str]:
    """Unique event name -> event name, as a labels export shows events."""
    rows = read_rows(project_files(PROJECT_DIR)["events"])
    return {row["unique_event_name"]: row["event_name"] for row in rows}
