"""The numbers of a follow-up report: read from the warehouse for one data cut and timepoint,
shaped into plain dicts and lists for the templates, with every arm already shown as the report
must show it (Arm A/B/C when blinded, one pooled column in an open report).

Nothing here computes a statistic: every number comes from the `analysis.*` tables of the cut,
but for the pooled cells of an open report, which add up the per-arm rows (`Pool`: counts summed,
shares of the sums, participant-weighted means), and the counts of protocol deviations by kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from runback.flows.analyse import lock
from runback.flows.report.blinding import Arms, withhold
from runback.flows.warehouse import sql, table_columns
from runback.schemas.study import DAG_COLUMN
from runback.schemas.trial import ADHERENT_MIN, RECRUITMENT, SUPERVISED_PLANNED, TIMEPOINTS

TIMEPOINT_LABELS = {"week_8": "8 weeks", "month_6": "6 months"}
VISIT_LABELS = {
    "baseline": "Baseline",
    "week_4": "Week 4",
    "week_8": "Week 8",
    "month_3": "Month 3 (3 months after the programme)",
    "month_6": "Month 6 (6 months after the programme)",
}
TITLE = (
    "Exercise programmes for recreational runners with chronic low back pain: a three-arm randomised controlled trial"
)


def _frame(con, name: str, **params) -> pd.DataFrame:
    return con.execute(sql(f"report/{name}"), params).df()


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN/NA turned into None (templates test `is none`)."""
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value) -> bool:
    """None, NaN, NaT or NA: what a template shows as missing."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def build(con, cut: int, timepoint: str, arms: Arms) -> dict:
    """Everything a report shows, for one cut and timepoint: by arm (a closed report), or with the
    arms pooled and no efficacy (an open report, `arms.pooled`)."""
    visits = TIMEPOINTS[timepoint]
    info = _frame(con, "cut", cut=cut).iloc[0]
    look = analysis_look(con, cut, timepoint)
    randomised = look["reach"]["randomised"]
    return {
        "title": TITLE,
        "audience": "open" if arms.pooled else "closed",
        "timepoint": timepoint,
        "timepoint_label": TIMEPOINT_LABELS[timepoint],
        "visits": [{"code": v, "label": VISIT_LABELS[v]} for v in visits],
        "cut": {
            "id": int(info["cut_id"]),
            "date": f"{info['export_time']:%Y-%m-%d %H:%M}",
            "file": info["file_name"],
            "key": None if _missing(info["key_fingerprint"]) else info["key_fingerprint"],
        },
        "blinded": arms.blinded,
        **look,
        "arms": [{"label": arms.labels[a], "short": arms.short(a), "letter": a} for a in arms.order],
        "pairs": [f"{arms.short(a)} − {arms.short(b)}" for a, b in arms.pairs()],
        "key_fingerprint": arms.fingerprint,
        "sources": _records(_frame(con, "sources", cut=cut)),
        "consort": consort(_frame(con, "consort_flow", cut=cut), arms, visits),
        "table1": table1(_frame(con, "baseline", cut=cut), arms),
        **efficacy(con, cut, timepoint, arms),
        "adherence": _by_arm(_frame(con, "adherence", cut=cut), arms, ADHERENCE),
        "adverse_events": adverse_events(_frame(con, "adverse_events", cut=cut), arms, randomised),
        "ae_listing": ae_listing(
            _frame(con, "adverse_event_listing", cut=cut), arms, _frame(con, "adverse_events", cut=cut)
        ),
        "serious_adverse_events": serious_adverse_events(
            _frame(con, "serious_adverse_events", cut=cut), arms, _frame(con, "adverse_events", cut=cut), randomised
        ),
        "deviations": deviations(_frame(con, "protocol_deviations", cut=cut), arms, visits),
        "missing_data": missing_data(_frame(con, "missing_data", cut=cut), arms, visits),
        "data_quality": {
            "files": _records(_frame(con, "quarantine_by_form", cut=cut)),
            "queries": _records(_frame(con, "data_quality", cut=cut)),
        },
        "params": _records(_frame(con, "params")),
        "windows": _records(_frame(con, "visits")),
        "programme": {"supervised_planned": SUPERVISED_PLANNED, "adherent_min": ADHERENT_MIN},
        "conduct": conduct(con, cut, arms, visits),
        "sites": sites(con, cut, visits[-1]),
    }


def efficacy(con, cut: int, timepoint: str, arms: Arms) -> dict:
    """The by-arm outcomes and models of the timepoint; none in an open report."""
    if arms.pooled:
        return {"outcomes": [], "contrasts": [], "not_assessed": [], "slopes": [], "responders": [], "not_fitted": []}
    visits = TIMEPOINTS[timepoint]
    models = _frame(con, "model_results", cut=cut, timepoint=timepoint)
    summary = _frame(con, "outcome_summary", cut=cut)
    return {
        "outcomes": outcome_tables(summary[summary["visit"].isin(visits)], arms),
        "contrasts": contrasts(models, arms, visits[-1]),
        "not_assessed": not_assessed(models, _frame(con, "params")),
        "slopes": slopes(models[models["model"].isin(["GEE", "Mixed model"])], arms),
        "responders": responders(_frame(con, "responders", cut=cut, timepoint=timepoint), arms),
        "not_fitted": not_fitted(models),
    }


def conduct(con, cut: int, arms: Arms, visits: tuple[str, ...]) -> dict:
    """Recruitment by month against the target, retention by visit and arm, visit-window
    compliance by visit (pooled: the window says nothing of the arm)."""
    recruitment = _records(_frame(con, "recruitment", cut=cut))
    retention = _frame(con, "retention", cut=cut)
    retention = retention[retention["visit"].isin(visits)]
    windows = _frame(con, "window_compliance", cut=cut)
    randomised = recruitment[-1]["randomised_total"] if recruitment else 0
    return {
        "target": RECRUITMENT.target,
        "period": f"{RECRUITMENT.start:%B %Y} to {RECRUITMENT.end:%B %Y}",
        "randomised": int(randomised),
        "recruitment": recruitment,
        "retention": [{"visit": VISIT_LABELS[v], "arms": _by_arm(group, arms, RETENTION)}
                      for v, group in retention.groupby("visit", sort=False)],
        "windows": [r | {"visit": VISIT_LABELS[r["visit"]]} for r in _records(windows[windows["visit"].isin(visits)])],
    }  # fmt: skip


def sites(con, cut: int, visit: str) -> dict | None:
    """Recruitment, retention at the timepoint's visit, window compliance and data queries by site
    (the export's data access group), pooled over the arms; None unless there is more than one site."""
    if DAG_COLUMN not in table_columns(con, "clean", "screening"):
        return None  # the exports have no data access group column
    found = _records(_frame(con, "sites", cut=cut, visit=visit))
    return {"visit": VISIT_LABELS[visit].split(" (")[0], "rows": found} if len(found) > 1 else None


def analysis_look(con, cut: int, timepoint: str) -> dict:
    """Interim or final: how many have reached the timepoint's visit, and the timepoint's lock."""
    seen = lock.reach(con, cut, timepoint)
    found = lock.locked(con, timepoint)
    visit = VISIT_LABELS[TIMEPOINTS[timepoint][-1]]
    return {
        "interim": seen.interim,
        "reach": {"reached": seen.reached, "randomised": seen.randomised, "visit": visit},
        "lock": None if found is None else {
            "cut": found.data_cut, "this_cut": found.data_cut == cut, "content_hash": found.content_hash,
            "forced": found.forced, "reason": found.reason, "reached": found.reached, "randomised": found.randomised,
            "verified": lock.verify(con, found),
        },
    }  # fmt: skip


@dataclass(frozen=True)
class Pool:
    """How the per-arm rows of a group add up to the one pooled cell of an open report: counts
    summed, percentages taken again of the sums, means weighted by their participants; the
    columns that cannot be pooled from per-arm rows (SD, median) are left empty."""

    counts: tuple[str, ...]
    shares: dict[str, tuple[str, str]] = field(default_factory=dict)  # pct column -> (count, denominator)
    means: dict[str, str] = field(default_factory=dict)  # mean column -> its weight column
    empty: tuple[str, ...] = ()

    def of(self, rows: list[dict], randomised: int = 0) -> dict:
        """The pooled cell; a share's denominator `RANDOMISED` is every participant randomised."""
        out = {c: sum(r[c] or 0 for r in rows) for c in self.counts} | dict.fromkeys(self.empty)
        for column, weight in self.means.items():
            known = [r for r in rows if r[column] is not None]
            weights = sum(r[weight] for r in known)
            out[column] = sum(r[column] * r[weight] for r in known) / weights if weights else None
        for column, (count, denominator) in self.shares.items():
            total = randomised if denominator == RANDOMISED else out[denominator]
            out[column] = 100.0 * out[count] / total if total else None
        return out


RANDOMISED = "randomised participants"
RETENTION = Pool(("randomised", "retained"), {"retained_pct": ("retained", "randomised")})
MISSING = Pool(("expected", "received", "missing"), {"received_pct": ("received", "expected")})
EVENTS = Pool(("events", "participants"), {"participants_pct": ("participants", RANDOMISED)})
DEVIATIONS = Pool(("deviations", "participants"))
ADHERENCE = Pool(
    ("participants", "received_programme", "adherent"),
    {"adherent_pct": ("adherent", "participants")},
    {"supervised_mean": "participants", "adherence_mean": "participants", "home_mean": "participants"},
    ("supervised_sd", "supervised_median"),
)


def _by_arm(frame: pd.DataFrame, arms: Arms, pool: Pool | None = None, randomised: int = 0) -> list[dict]:
    """Rows of one group, one per arm in display order (None for an arm without a row); in an open
    report the one pooled cell (`pool`), or None when the group has no row."""
    rows = _records(frame)
    if arms.pooled:
        if pool is None:
            raise ValueError("an open report pools every by-arm table: say how")
        return [pool.of(rows, randomised) if rows else None]
    indexed = {r["arm"]: r for r in rows}
    return [indexed.get(arm) for arm in arms.order]


def consort(flow: pd.DataFrame, arms: Arms, visits: tuple[str, ...]) -> dict:
    """Top boxes (whole trial) and per-arm boxes by stage, for the timepoint's visits."""
    top = [
        {"stage": stage, "boxes": _records(group[["box", "n"]])}
        for stage, group in flow[flow["arm"].isna()].groupby("stage_order", sort=True)
        for stage in [group["stage"].iloc[0]]
    ]
    per_arm = []
    follow_ups = {f"Follow-up: {v}" for v in visits}
    for _, group in flow[flow["arm"].notna()].groupby("stage_order", sort=True):
        stage = group["stage"].iloc[0]
        if stage.startswith("Follow-up") and stage not in follow_ups:
            continue
        if stage.startswith("Analysis") and f": {visits[-1]} " not in stage:
            continue  # the analysed populations of the other timepoint
        label = VISIT_LABELS.get(stage.removeprefix("Follow-up: "), stage) if stage.startswith("Follow-up") else stage
        boxes = []
        for box, rows in group.groupby("box", sort=True):
            counts = dict(zip(rows["arm"], rows["n"], strict=True))
            n = [int(rows["n"].sum())] if arms.pooled else [int(counts.get(arm, 0)) for arm in arms.order]
            boxes.append({"box": box, "n": n})
        per_arm.append({"stage": "Follow-up: " + label if stage.startswith("Follow-up") else stage, "boxes": boxes})
    return {"top": top, "per_arm": per_arm}


def table1(baseline: pd.DataFrame, arms: Arms) -> list[dict]:
    """Rows of Table 1: each characteristic with a cell per arm, then All (All only, pooled)."""
    columns = ["All"] if arms.pooled else [*arms.order, "All"]
    rows = []
    for _, group in baseline.groupby("sort", sort=True):
        first = group.iloc[0]
        cells = {r["arm"]: r for r in _records(group)}
        rows.append({
            "characteristic": first["characteristic"],
            "unit": None if _missing(first["unit"]) else first["unit"],
            "kind": first["kind"],
            "cells": [cells.get(arm) for arm in columns],
        })  # fmt: skip
    return rows


def outcome_tables(summary: pd.DataFrame, arms: Arms) -> list[dict]:
    """One table per parameter (primary first): visit x arm descriptive statistics."""
    tables = []
    for _, rows in summary.groupby("param_sort", sort=True):
        first = rows.iloc[0]
        tables.append({
            "param": first["param"], "label": first["label"], "unit": first["unit"],
            "primary": bool(first["primary"]), "better": first["better"],
            "rows": [{"visit": VISIT_LABELS[visit], "visit_code": visit, "step": int(group["step"].iloc[0]),
                      "arms": _by_arm(group, arms)}
                     for visit, group in rows.groupby("visit", sort=False)],
        })  # fmt: skip
    return tables


def _by_term(rows: pd.DataFrame) -> dict[str, dict]:
    """A model group's result rows by term (the first row of each), looked up once per group."""
    terms: dict[str, dict] = {}
    for row in _records(rows):
        terms.setdefault(row["term"], row)
    return terms


def _oriented(terms: dict[str, dict], first: str, second: str, prefix: str = "") -> dict | None:
    """The result for `first - second`, from the stored term in whichever order it was fitted."""
    if (direct := terms.get(f"{prefix}{first} - {second}")) is not None:
        return direct
    if (row := terms.get(f"{prefix}{second} - {first}")) is None:
        return None
    flip = {"estimate": _neg(row["estimate"]), "ci_low": _neg(row["ci_high"]), "ci_high": _neg(row["ci_low"])}
    return row | flip


def _neg(value):
    return None if value is None else -value


CONTRAST_MODELS = ("MMRM", "ANCOVA", "Delta-adjusted MI")
"""Models of the contrasts table: the primary MMRM (at the timepoint's visit), the ANCOVA, the MNAR MI."""


def contrasts(models: pd.DataFrame, arms: Arms, visit: str) -> list[dict]:
    """Between-arm contrasts at the timepoint's visit per model, parameter and population, for each
    pair of arms shown, with the plan's role and the multiplicity-adjusted p-value where there is one."""
    shown = models[models["model"].isin(CONTRAST_MODELS) & (models["visit"] == visit)]
    out = []
    for (model, _, population), rows in shown.groupby(["model", "param_sort", "population"], sort=True):
        first, terms = rows.iloc[0], _by_term(rows)
        role = next((r for r in ("primary", "secondary", "sensitivity") if r in set(rows["role"])), None)
        out.append({
            "model": model, "role": role, "param": first["param"], "label": first["label"], "unit": first["unit"],
            "primary": bool(first["primary"]), "population": population,
            "pairs": [(_oriented(terms, a, b) or {}) | {"pair": f"{arms.short(a)} − {arms.short(b)}",
                                                         "tipping": _tipping(terms, a, b)}
                      for a, b in arms.pairs()],
        })  # fmt: skip
    out = [c for c in out if any(p.get("n_obs") for p in c["pairs"])]  # never assessed at the timepoint
    out.sort(key=lambda c: (c["role"] != "primary", c["population"] != "ITT", CONTRAST_MODELS.index(c["model"]),
                            not c["primary"]))  # fmt: skip
    return out


def _tipping(terms: dict[str, dict], first: str, second: str) -> str | None:
    """What tips the MNAR analysis of the pair (its note names the arm shifted and the delta), if anything."""
    found = _oriented(terms, first, second, prefix="tipping delta ")
    return None if found is None else found["note"]


def not_assessed(models: pd.DataFrame, params: pd.DataFrame) -> list[str]:
    """Parameters with no model row at the timepoint: not measured at its visit by design (e.g. the
    physical tests at month 6)."""
    fitted = set(models["param"])
    return [label for code, label in zip(params["param"], params["label"], strict=True) if code not in fitted]


def slopes(longitudinal: pd.DataFrame, arms: Arms) -> list[dict]:
    """Slopes per step by arm and their pairwise differences, per model, parameter and population."""
    out = []
    for (model, _, population), rows in longitudinal.groupby(["model", "param_sort", "population"], sort=True):
        first, terms = rows.iloc[0], _by_term(rows)
        per_arm = {term.removeprefix("slope "): r for term, r in terms.items() if " - " not in term}
        out.append({
            "model": model, "param": first["param"], "label": first["label"], "unit": first["unit"],
            "primary": bool(first["primary"]), "population": population,
            "arms": [per_arm.get(arm) for arm in arms.order],
            "pairs": [(_oriented(terms, a, b, "slope ") or {}) | {"pair": f"{arms.short(a)} − {arms.short(b)}"}
                      for a, b in arms.pairs()],
        })  # fmt: skip
    out.sort(key=lambda s: (s["model"] != "GEE", s["population"] != "ITT"))
    return out


def responders(frame: pd.DataFrame, arms: Arms) -> list[dict]:
    out = []
    for (_, population), rows in frame.groupby(["param_sort", "population"], sort=True):
        first = rows.iloc[0]
        out.append({"label": first["label"], "mcid": first["mcid"], "better": first["better"],
                    "population": population, "arms": _by_arm(rows, arms)})  # fmt: skip
    out.sort(key=lambda r: r["population"] != "ITT")
    return out


def adverse_events(frame: pd.DataFrame, arms: Arms, randomised: int) -> list[dict]:
    rows = []
    for (dimension, _, category), group in frame.groupby(["dimension", "category_sort", "category"], sort=False):
        rows.append({"dimension": dimension, "category": category, "arms": _by_arm(group, arms, EVENTS, randomised)})
    order = {"Any": 0, "Severity": 1, "Seriousness": 2, "Relatedness": 3}
    return sorted(rows, key=lambda r: order.get(r["dimension"], 9))


LISTED_DIMENSIONS = {"severity": "Severity", "relatedness": "Relatedness"}
"""Listing column -> the dimension of the per-arm table whose categories it shows."""
SUPPRESSED = "[suppressed: one arm only]"


def ae_listing(frame: pd.DataFrame, arms: Arms, per_arm: pd.DataFrame) -> dict:
    """Every adverse event; the arm column only in an unblinded report.

    Blinded: free text that names an arm or a programme is withheld, and a category that only one
    arm has in the per-arm table beside it is suppressed in the listing (small-cell suppression:
    with the table's counts it would tie the event to its arm). A closed blinded report lists the
    serious events in the serious adverse event listing only: the two listings share onset day,
    severity and relatedness, so rows of both would join, and the second has participant ids."""
    rows = _records(frame)
    single = _single_arm_categories(per_arm) if arms.blinded and not arms.pooled else set()  # no per-arm table, open
    serious_elsewhere = arms.blinded and not arms.pooled
    if serious_elsewhere:
        rows = [row for row in rows if not row["serious"]]
    withheld = 0
    for row in rows:
        arm = row.pop("arm")
        row["arm"] = None if arms.blinded else arms.short(arm)
        if arms.blinded:
            withheld += _blinded_row(row, single)
    if arms.blinded:  # without the arm, order by what is shown only
        rows.sort(key=lambda r: (r["serious"] is not True, r["onset_day"] if r["onset_day"] is not None else math.inf,
                                 r["description"] or ""))  # fmt: skip
    return {"rows": rows, "withheld": withheld, "suppressed": sorted(f"{d}: {c}" for d, c in single),
            "serious_elsewhere": serious_elsewhere}  # fmt: skip


def _blinded_row(row: dict, single: set[tuple[str, str]]) -> bool:
    """A listing row as a blinded report shows it: its description withheld when it names an arm,
    and each category that only one arm has in the per-arm table suppressed; whether the
    description was withheld."""
    row["description"], hidden = withhold(row["description"])
    for column, dimension in LISTED_DIMENSIONS.items():
        if column in row and (dimension, row[column] or "Not recorded") in single:
            row[column] = SUPPRESSED
    if "serious" in row and ("Seriousness", "Serious" if row["serious"] else "Not serious") in single:
        row["serious"] = SUPPRESSED
    return hidden


def serious_adverse_events(frame: pd.DataFrame, arms: Arms, per_arm: pd.DataFrame, randomised: int) -> dict:
    """Serious adverse events: events and participants per arm (from the per-arm table), and a
    listing with participant ids, dates and grading (closed reports only); the arm column only in
    an unblinded report. Blinded, the listing is suppressed as the adverse event listing is (a
    description naming an arm withheld, a category only one arm has suppressed), and when only
    one arm has serious events, their descriptions are suppressed too."""
    serious = per_arm[(per_arm["dimension"] == "Seriousness") & (per_arm["category"] == "Serious")]
    counts = _by_arm(serious, arms, EVENTS, randomised)
    if arms.pooled:
        return {"arms": counts, "rows": None, "withheld": 0, "suppressed": False}
    single = _single_arm_categories(per_arm) if arms.blinded else set()
    one_arm = ("Seriousness", "Serious") in single
    rows, withheld = _records(frame), 0
    for row in rows:
        arm = row.pop("arm")
        row["arm"] = None if arms.blinded else arms.short(arm)
        if arms.blinded:
            withheld += _blinded_row(row, single)
        if one_arm:  # with the counts beside it, a description would be tied to that arm (small cells)
            row["description"] = SUPPRESSED
    return {"arms": counts, "rows": rows, "withheld": withheld, "suppressed": one_arm}


def deviations(frame: pd.DataFrame, arms: Arms, visits: tuple[str, ...]) -> dict:
    """Protocol deviations up to the timepoint's visits: deviations and participants by kind and
    arm, and the listing (by kind and participant; closed reports only, the arm column only in an
    unblinded one)."""
    frame = frame[frame["visit"].isna() | frame["visit"].isin(visits)]
    counts = []
    for (_, kind), group in frame.groupby(["kind_sort", "kind"], sort=True):
        per_arm = group.groupby("arm", as_index=False).agg(
            deviations=("record_id", "size"), participants=("record_id", "nunique")
        )
        counts.append({"kind": kind, "deviations": len(group), "participants": group["record_id"].nunique(),
                       "arms": _by_arm(per_arm, arms, DEVIATIONS)})  # fmt: skip
    up_to = VISIT_LABELS[visits[-1]].split(" (")[0]
    if arms.pooled:
        return {"counts": counts, "rows": None, "up_to": up_to}
    rows = []
    for row in _records(frame):
        arm = row.pop("arm")
        rows.append(row | {"arm": None if arms.blinded or arm is None else arms.short(arm),
                           "visit": VISIT_LABELS[row["visit"]].split(" (")[0] if row["visit"] else None})  # fmt: skip
    return {"counts": counts, "rows": rows, "up_to": up_to}


def _single_arm_categories(per_arm: pd.DataFrame) -> set[tuple[str, str]]:
    """(dimension, category) pairs with events in exactly one arm."""
    with_events = per_arm[per_arm["events"] > 0]
    counts = with_events.groupby(["dimension", "category"])["arm"].nunique()
    return {key for key, n in counts.items() if n == 1 and key[0] != "Any"}


def not_fitted(models: pd.DataFrame) -> list[dict]:
    """The models not fitted at this cut, each named with its parameters and population, and why."""
    missing = models[models["status"] != "ok"]
    out = []
    for (model, population, note), group in missing.groupby(["model", "population", "note"], sort=True):
        labels = group.sort_values("param_sort")["label"].drop_duplicates().tolist()
        out.append({"model": model, "population": population, "params": labels, "note": note})
    return out


def missing_data(frame: pd.DataFrame, arms: Arms, visits: tuple[str, ...]) -> list[dict]:
    frame = frame[frame["visit"].isin(visits)]
    groups = frame.groupby("visit", sort=False)
    return [{"visit": VISIT_LABELS[visit], "arms": _by_arm(group, arms, MISSING)} for visit, group in groups]
