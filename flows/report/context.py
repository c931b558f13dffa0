"""The numbers of a follow-up report: read from the warehouse for one data cut and timepoint,
shaped into plain dicts and lists for the templates, with every arm already shown as the report
must show it (Arm A/B/C when blinded, one pooled column in an open report).

Nothing here computes a statistic: every number comes from the `analysis.*` tables of the cut,
but for the pooled cells of an open report, which add up the per-arm rows (`Pool`: counts summed,
shares of the sums, participant-weighted means), the counts of protocol deviations by kind, and
(at a planned look or the final analysis) the group-sequential boundaries and the decision of the
plan's primary hypotheses, from the primary contrasts' t (`flows/analyse/looks.py`).

The queries' results are small (tens to hundreds of rows), so they are read as lists of dicts
(`_rows`) and grouped in Python (`_groups`), without pandas: a report does not need to import it,
and turning a few hundred rows into frames and back cost more than the queries themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runback.flows.analyse import lock
from runback.flows.report.blinding import Arms, withhold
from runback.flows.warehouse import sql, table_columns
from runback.schemas import plan
from runback.schemas.file_status import APPLIED
from runback.schemas.plan import PRIMARY_TIMEPOINT
from runback.schemas.study import DAG_COLUMN
from runback.schemas.trial import (
    ADHERENT_MIN,
    PARAMS,
    PRIMARY,
    RECRUITMENT,
    SUPERVISED_PLANNED,
    TIMEPOINT_LABELS,
    TIMEPOINTS,
    VISIT_LABELS,
)

TITLE = (
    "Exercise programmes for recreational runners with chronic low back pain: a three-arm randomised controlled trial"
)


Rows = list[dict]
"""A query's result: one dict per row, column -> value, in the query's order; NULL (and a NaN
double) is None, which is what the templates test (`is none`)."""


def _rows(con, name: str, **params) -> Rows:
    """The rows of `sql/report/<name>.sql`, read at once."""
    cursor = con.execute(sql(f"report/{name}"), params)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, map(_value, row), strict=True)) for row in cursor.fetchall()]


def _value(value):
    return None if isinstance(value, float) and value != value else value


def _groups(rows: Rows, *keys: str, sort: bool = True) -> list[tuple[tuple, Rows]]:
    """Rows grouped by their values of `keys`, each group in the rows' order, the groups in key
    order (or, not `sort`, in order of first appearance); as pandas' groupby, a row with a NULL
    in a key is in no group."""
    groups: dict[tuple, Rows] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if None not in key:
            groups.setdefault(key, []).append(row)
    return sorted(groups.items(), key=lambda item: item[0]) if sort else list(groups.items())


def build(con, cut: int, timepoint: str, arms: Arms, dmc_reason: str | None = None) -> dict:
    """Everything a report shows, for one cut and timepoint: by arm (a closed report), or with the
    arms pooled and no efficacy (an open report, `arms.pooled`). At a cut that is neither a planned
    look nor the final analysis, the between-arm estimates are descriptive (no p-value) unless the
    data monitoring committee asked with a reason (`dmc_reason`)."""
    visits = TIMEPOINTS[timepoint]
    info = _rows(con, "cut", cut=cut)[0]
    look = analysis_look(con, cut, timepoint)
    if look["lock"] and arms.blinded:  # a forced lock's reason is free text: it may name an arm
        look["lock"]["reason"] = withhold(look["lock"]["reason"])[0]
    inferential = look["status"]["kind"] != UNPLANNED or bool(dmc_reason)
    randomised = look["reach"]["randomised"]
    params, per_arm_events = _rows(con, "params"), _rows(con, "adverse_events", cut=cut)  # each read once, used twice
    by_arm = efficacy(con, cut, timepoint, arms, params)
    built = {
        "title": TITLE,
        "plan": {"version": plan.VERSION, "fingerprint": plan.fingerprint()},
        "audience": "open" if arms.pooled else "closed",
        "timepoint": timepoint,
        "timepoint_label": TIMEPOINT_LABELS[timepoint],
        "primary_timepoint": timepoint == PRIMARY_TIMEPOINT,
        "visits": [{"code": v, "label": VISIT_LABELS[v]} for v in visits],
        "cut": {
            "id": int(info["cut_id"]),
            "date": f"{info['export_time']:%Y-%m-%d %H:%M}",
            "file": withhold(info["file_name"])[0],  # a file's name is free text: it may name an arm
            "key": info["key_fingerprint"],
        },
        "blinded": arms.blinded,
        **look,
        "dmc_reason": shown_reason(dmc_reason, arms),
        "inferential": inferential,
        "arms": [{"label": arms.labels[a], "short": arms.short(a), "letter": a} for a in arms.order],
        "pairs": [f"{arms.short(a)} − {arms.short(b)}" for a, b in arms.pairs()],
        "key_fingerprint": arms.fingerprint,
        "sources": [  # a file's name is free text: it may name an arm (withheld, never rewritten)
            r | {"file_name": withhold(r["file_name"])[0]} for r in _rows(con, "sources", cut=cut, applied=APPLIED)
        ],
        "consort": consort(_rows(con, "consort_flow", cut=cut), arms, visits, params),
        "table1": table1(_rows(con, "baseline", cut=cut), arms),
        **(by_arm if inferential else descriptive(by_arm)),
        "sequential": sequential(con, look, timepoint, arms) if not arms.pooled and look["status"]["looks"] else None,
        "intercurrent": intercurrent(con, cut, timepoint, arms),
        "adherence": _by_arm(_rows(con, "adherence", cut=cut), arms, ADHERENCE),
        "adverse_events": adverse_events(per_arm_events, arms, randomised),
        "ae_listing": ae_listing(_rows(con, "adverse_event_listing", cut=cut), arms),
        "serious_adverse_events": serious_adverse_events(
            _rows(con, "serious_adverse_events", cut=cut), arms, per_arm_events, randomised
        ),
        "deviations": deviations(_rows(con, "protocol_deviations", cut=cut), arms, visits),
        "missing_data": missing_data(_rows(con, "missing_data", cut=cut), arms, visits),
        "data_quality": {
            "files": _rows(con, "quarantine_by_form", cut=cut),
            "queries": _rows(con, "data_quality", cut=cut),
        },
        "params": params,
        "windows": [r | {"visit": VISIT_LABELS[r["visit"]]} for r in _rows(con, "visits")],
        "programme": {"supervised_planned": SUPERVISED_PLANNED, "adherent_min": ADHERENT_MIN},
        "conduct": conduct(con, cut, arms, visits),
        "sites": sites(con, cut, visits[-1]),
    }
    return built | {"summary": summary(built)}


def shown_reason(reason: str | None, arms: Arms) -> str | None:
    """The data monitoring committee's reason as the report shows it: free text, withheld whole in a
    blinded report when it names an arm, and not in an open report (its p-values are the closed
    session's)."""
    if arms.pooled:
        return None
    return withhold(reason)[0] if arms.blinded else reason


def summary(report: dict) -> dict:
    """The few numbers a reader wants first, pooled over the arms (as the open report may show them):
    recruitment, who has reached the timepoint, retention at its visit, adverse events, protocol
    deviations, open data queries, and (a closed report at the primary timepoint) how many primary
    results were fitted."""
    conduct_ = report["conduct"]
    retained = [a for a in (conduct_["retention"][-1]["arms"] if conduct_["retention"] else []) if a]
    events = [r for r in report["adverse_events"] if r["dimension"] == "Any"]
    primary = [p for c in report["contrasts"] if c["role"] == "primary" for p in c["pairs"] if p.get("status") == "ok"]
    return {
        "retained": sum(a["retained"] for a in retained),
        "retention_randomised": sum(a["randomised"] for a in retained),
        "events": sum(a["events"] for r in events for a in r["arms"] if a),
        "serious": sum(a["events"] for a in report["serious_adverse_events"]["arms"] if a),
        "deviations": sum(c["deviations"] for c in report["deviations"]["counts"]),
        "queries_open": sum(q["queries"] for q in report["data_quality"]["queries"] if q["status"] != "resolved"),
        "primary": len(primary),
    }


def efficacy(con, cut: int, timepoint: str, arms: Arms, params: Rows) -> dict:
    """The by-arm outcomes and models of the timepoint; none in an open report."""
    if arms.pooled:
        return {"outcomes": [], "contrasts": [], "not_assessed": [], "slopes": [], "responders": [], "not_fitted": []}
    visits = TIMEPOINTS[timepoint]
    models = _rows(con, "model_results", cut=cut, timepoint=timepoint)
    summary = _rows(con, "outcome_summary", cut=cut)
    return {
        "outcomes": outcome_tables([r for r in summary if r["visit"] in visits], arms),
        "contrasts": contrasts(models, arms, visits[-1]),
        "not_assessed": not_assessed(models, params),
        "slopes": slopes([r for r in models if r["model"] in ("GEE", "Mixed model")], arms),
        "responders": responders(
            _rows(con, "responders", cut=cut, timepoint=timepoint),
            _rows(con, "responder_comparisons", cut=cut, timepoint=timepoint),
            arms,
        ),
        "not_fitted": not_fitted(models),
    }


def intercurrent(con, cut: int, timepoint: str, arms: Arms) -> dict:
    """The intercurrent events met and the assessments up to the timepoint their estimands set aside,
    by arm, in the plan's order of the events; none in an open report (co-interventions by arm are
    never shown there: docs/blinding.md)."""
    if arms.pooled:
        return {"events": [], "set_aside": []}
    order = [e.code for e in plan.INTERCURRENT_EVENTS]
    labels = {e.code: e.description for e in plan.INTERCURRENT_EVENTS}
    events = _groups(_rows(con, "intercurrent_events", cut=cut), "intercurrent_event", "kind", sort=False)
    return {
        "events": [
            {"event": labels[event], "kind": kind, "cells": _by_arm(rows, arms)}
            for (event, kind), rows in sorted(events, key=lambda group: order.index(group[0][0]))
        ],
        "set_aside": [
            {"label": rows[0]["label"], "cells": _by_arm(rows, arms)}
            for _, rows in _groups(_rows(con, "set_aside", cut=cut, timepoint=timepoint), "sort")
        ],
    }


def conduct(con, cut: int, arms: Arms, visits: tuple[str, ...]) -> dict:
    """Recruitment by month against the target, retention by visit and arm, visit-window
    compliance by visit (pooled: the window says nothing of the arm)."""
    recruitment = _rows(con, "recruitment", cut=cut)
    retention = [r for r in _rows(con, "retention", cut=cut) if r["visit"] in visits]
    windows = _rows(con, "window_compliance", cut=cut)
    randomised = recruitment[-1]["randomised_total"] if recruitment else 0
    return {
        "target": RECRUITMENT.target,
        "period": f"{RECRUITMENT.start:%B %Y} to {RECRUITMENT.end:%B %Y}",
        "randomised": int(randomised),
        "recruitment": recruitment,
        "retention": [
            {"visit": VISIT_LABELS[v], "arms": _by_arm(group, arms, RETENTION)}
            for (v,), group in _groups(retention, "visit", sort=False)
        ],
        "windows": [r | {"visit": VISIT_LABELS[r["visit"]]} for r in windows if r["visit"] in visits],
    }


def sites(con, cut: int, visit: str) -> dict | None:
    """Recruitment, retention at the timepoint's visit, window compliance and data queries by site
    (the export's data access group), pooled over the arms; None unless there is more than one site."""
    if DAG_COLUMN not in table_columns(con, "clean", "screening"):
        return None  # the exports have no data access group column
    found = _rows(con, "sites", cut=cut, visit=visit)
    return {"visit": VISIT_LABELS[visit].split(" (")[0], "rows": found} if len(found) > 1 else None


FINAL, PLANNED, UNPLANNED = "final", "planned", "unplanned"
"""The one status of a report's cut at its timepoint: the final analysis (the lock), a planned
interim look, or an unplanned cut."""


def analysis_look(con, cut: int, timepoint: str) -> dict:
    """The report's one status (`status`: its kind, its words, and the looks whose boundaries it
    shows, none at an unplanned cut), how many have reached the timepoint's visit, and the lock (with
    the runback version now, and, for the locked cut, whether its results are still those locked)."""
    seen = lock.reach(con, cut, timepoint)
    found = lock.locked(con, timepoint)
    taken = lock.looks(con, timepoint)
    verified = all(lock.verify(con, t) for t in taken if t.data_cut == cut)  # this cut's planned look, if any
    visit = VISIT_LABELS[TIMEPOINTS[timepoint][-1]]
    return {
        "status": status(cut, timepoint, found, taken) | {"verified": verified},
        "reach": {"reached": seen.reached, "randomised": seen.randomised, "visit": visit},
        "lock": None
        if found is None
        else {
            "cut": found.data_cut,
            "this_cut": found.data_cut == cut,
            "content_hash": found.content_hash,
            "forced": found.forced,
            "reason": found.reason,
            "reached": found.reached,
            "randomised": found.randomised,
            "verified": lock.verify(con, found),
            "runback_version": found.runback_version,
            "results_hash": found.results_hash,
            "version_now": lock.version(),
            "same_results": lock.same_results(con, found) if found.data_cut == cut else None,
        },
    }


def status(cut: int, timepoint: str, found: lock.Lock | None, taken: list[lock.Look]) -> dict:
    """The status of the cut at the timepoint, and the looks up to it (their cuts and information
    fractions, the final analysis at 1) when it is a planned look or the final analysis of the
    plan's primary timepoint."""
    planned = timepoint == plan.LOOKS.timepoint
    count = plan.LOOKS.count if planned else 1
    if found is not None and found.data_cut == cut:
        looks = [{"look": t.look, "cut": t.data_cut, "fraction": t.fraction} for t in taken]
        looks = [*looks, {"look": len(taken) + 1, "cut": cut, "fraction": 1.0}] if planned else []
        forced = found.forced and found.reached < found.randomised
        words = "final analysis" + (", locked before every participant had reached it" if forced else "")
        return {"kind": FINAL, "label": words, "look": len(taken) + 1, "count": count, "looks": looks}
    if (k := next((t.look for t in taken if t.data_cut == cut), None)) is not None:
        looks = [{"look": t.look, "cut": t.data_cut, "fraction": t.fraction} for t in taken[:k]]
        return {
            "kind": PLANNED,
            "label": f"planned interim look {k} of {count}",
            "look": k,
            "count": count,
            "looks": looks,
        }
    return {"kind": UNPLANNED, "label": "unplanned cut: not a planned look", "look": None, "count": count, "looks": []}


def descriptive(found: dict) -> dict:
    """The by-arm efficacy of a cut that is not a planned look: its estimates and CIs, no p-value
    (nor the tipping delta, which is where a p-value crosses 0.05)."""
    hidden = {"p_value": None, "p_adjusted": None, "tipping": None}
    return found | {
        "contrasts": [c | {"pairs": [p | hidden for p in c["pairs"]]} for c in found["contrasts"]],
        "slopes": [s | {"pairs": [p | hidden for p in s["pairs"]]} for s in found["slopes"]],
    }


def sequential(con, look: dict, timepoint: str, arms: Arms) -> dict:
    """The group-sequential test of the primary hypotheses at a planned look or the final
    analysis: the boundaries for the information observed at the looks so far, and (unblinded) each
    hypothesis's z, its local alpha and boundary, and the decision the plan's success rule gives;
    blinded, each pair of letters' z and the boundary at every local alpha the graph can give."""
    from runback.flows.analyse import looks  # scipy: only for a report at a look

    taken = look["status"]["looks"]
    fractions = tuple(t["fraction"] for t in taken)
    results = [_primary_z(con, t["cut"], timepoint) for t in taken]
    weights = {h.name: h.weight for h in plan.HYPOTHESES}
    levels = [
        {"alpha": level, "bounds": looks.boundaries(fractions, level)}
        for level in looks.levels(weights, plan.TRANSITIONS, plan.LOOKS.alpha)
    ]
    labels = {p.code: p.label for p in PARAMS}
    out = {"looks": taken, "levels": levels, "alpha": plan.LOOKS.alpha, "spending": plan.LOOKS.spending}
    if arms.blinded:
        pairs = [
            {"pair": f"{arms.short(a)} − {arms.short(b)}", "z": [results[-1].get((param, a, b)) for param in PRIMARY]}
            for a, b in arms.pairs()
        ]
        return out | {"pairs": pairs, "outcomes": [labels[p] for p in PRIMARY], "tested": None, "success": None}
    letter = {code: letter for letter, code in arms.codes.items()}
    z = {h.name: [_oriented_z(r, h, letter) for r in results] for h in plan.HYPOTHESES}
    tested = looks.graphical(weights, plan.TRANSITIONS, z, fractions, plan.LOOKS.alpha)
    named = {h.name: h for h in plan.HYPOTHESES}
    rows = [{"hypothesis": named[t.name], "outcome": labels[named[t.name].outcome], "result": t} for t in tested]
    success = any(t.rejected for t in tested if t.name in plan.SUCCESS)
    return out | {"pairs": None, "tested": rows, "success": success, "rule": plan.SUCCESS}


def _primary_z(con, cut: int, timepoint: str) -> dict[tuple[str, str, str], float]:
    """The z of each primary contrast of a cut by (outcome, first letter, second letter), first
    minus second, from its t on Satterthwaite df (the same one-sided p-value)."""
    from runback.flows.analyse.looks import z_of_t

    out = {}
    for row in _rows(con, "model_results", cut=cut, timepoint=timepoint):
        first, sep, second = row["term"].partition(" - ")
        if row["role"] == plan.PRIMARY_ROLE and sep and row["status"] == "ok" and row["std_error"]:
            z = z_of_t(row["estimate"] / row["std_error"], row["df"])
            out[(row["param"], first, second)], out[(row["param"], second, first)] = z, -z
    return out


def _oriented_z(found: dict, hypothesis: plan.Hypothesis, letter: dict[str, str]) -> float | None:
    """A hypothesis's z at a look: positive when its first arm is better in the outcome's direction."""
    z = found.get((hypothesis.outcome, letter[hypothesis.better], letter[hypothesis.than]))
    return None if z is None else z * (1 if _HIGHER[hypothesis.outcome] else -1)


_HIGHER = {p.code: p.better == "higher" for p in PARAMS}


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


def _by_arm(rows: Rows, arms: Arms, pool: Pool | None = None, randomised: int = 0) -> list[dict]:
    """Rows of one group, one per arm in display order (None for an arm without a row); in an open
    report the one pooled cell (`pool`), or None when the group has no row."""
    if arms.pooled:
        if pool is None:
            raise ValueError("an open report pools every by-arm table: say how")
        return [pool.of(rows, randomised) if rows else None]
    indexed = {r["arm"]: r for r in rows}
    return [indexed.get(arm) for arm in arms.order]


ANALYSED = re.compile(r"Analysis \(primary (?P<model>[^,]+), (?P<population>[^)]+)\): (?P<visit>\S+) (?P<param>\S+)")
"""The analysed-population stages of the CONSORT flow (sql/analyse/consort_flow.sql), by visit and parameter code."""


def _analysed(stage: str, labels: dict[str, str]) -> str:
    """An analysed-population stage in words: the visit and parameter by their labels, and "primary"
    only at the primary timepoint."""
    m = ANALYSED.fullmatch(stage)
    if m is None:
        return stage
    primary = "primary " if m["visit"] == PRIMARY_TIMEPOINT else ""
    visit = VISIT_LABELS[m["visit"]].split(" (")[0].lower()
    return f"Analysis at {visit} ({primary}{m['model']}, {m['population']}): {labels.get(m['param'], m['param'])}"


def consort(flow: Rows, arms: Arms, visits: tuple[str, ...], params: Rows = ()) -> dict:
    """Top boxes (whole trial) and per-arm boxes by stage, for the timepoint's visits."""
    top = [
        {"stage": group[0]["stage"], "boxes": [{"box": r["box"], "n": r["n"]} for r in group]}
        for _, group in _groups([r for r in flow if r["arm"] is None], "stage_order")
    ]
    per_arm = []
    follow_ups = {f"Follow-up: {v}" for v in visits}
    for _, group in _groups([r for r in flow if r["arm"] is not None], "stage_order"):
        stage = group[0]["stage"]
        if stage.startswith("Follow-up") and stage not in follow_ups:
            continue
        if stage.startswith("Analysis") and f": {visits[-1]} " not in stage:
            continue  # the analysed populations of the other timepoint
        label = VISIT_LABELS.get(stage.removeprefix("Follow-up: "), stage) if stage.startswith("Follow-up") else stage
        boxes = []
        for (box,), rows in _groups(group, "box"):
            counts = {r["arm"]: r["n"] for r in rows}
            n = [int(sum(r["n"] for r in rows))] if arms.pooled else [int(counts.get(arm, 0)) for arm in arms.order]
            boxes.append({"box": box, "n": n})
        if stage.startswith("Follow-up"):
            label = "Follow-up: " + label
        per_arm.append({"stage": _analysed(label, {p["param"]: p["label"] for p in params}), "boxes": boxes})
    return {"top": top, "per_arm": per_arm}


def table1(baseline: Rows, arms: Arms) -> list[dict]:
    """Rows of Table 1: each characteristic with a cell per arm, then All (All only, pooled)."""
    columns = ["All"] if arms.pooled else [*arms.order, "All"]
    rows = []
    for _, group in _groups(baseline, "sort"):
        first = group[0]
        cells = {r["arm"]: r for r in group}
        rows.append(
            {
                "characteristic": first["characteristic"],
                "unit": first["unit"],
                "kind": first["kind"],
                "cells": [cells.get(arm) for arm in columns],
            }
        )
    return rows


def outcome_tables(summary: Rows, arms: Arms) -> list[dict]:
    """One table per parameter (primary first): visit x arm descriptive statistics."""
    tables = []
    for _, rows in _groups(summary, "param_sort"):
        first = rows[0]
        tables.append(
            {
                "param": first["param"],
                "label": first["label"],
                "unit": first["unit"],
                "primary": bool(first["primary"]),
                "better": first["better"],
                "rows": [
                    {
                        "visit": VISIT_LABELS[visit],
                        "visit_code": visit,
                        "step": int(group[0]["step"]),
                        "arms": _by_arm(group, arms),
                    }
                    for (visit,), group in _groups(rows, "visit", sort=False)
                ],
            }
        )
    return tables


def _by_term(rows: Rows) -> dict[str, dict]:
    """A model group's result rows by term (the first row of each), looked up once per group."""
    terms: dict[str, dict] = {}
    for row in rows:
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


def contrasts(models: Rows, arms: Arms, visit: str) -> list[dict]:
    """Between-arm contrasts at the timepoint's visit per model, parameter and population, for each
    pair of arms shown, with the plan's role and the multiplicity-adjusted p-value where there is one."""
    shown = [r for r in models if r["model"] in CONTRAST_MODELS and r["visit"] == visit]
    out = []
    for (model, _, population), rows in _groups(shown, "model", "param_sort", "population"):
        first, terms, roles = rows[0], _by_term(rows), {r["role"] for r in rows}
        role = next((r for r in ("primary", "secondary", "sensitivity") if r in roles), None)
        out.append(
            {
                "model": model,
                "role": role,
                "param": first["param"],
                "label": first["label"],
                "unit": first["unit"],
                "primary": bool(first["primary"]),
                "population": population,
                "pairs": [
                    (_oriented(terms, a, b) or {})
                    | {"pair": f"{arms.short(a)} − {arms.short(b)}", "tipping": _tipping(terms, rows, a, b, arms)}
                    for a, b in arms.pairs()
                ],
            }
        )
    out = [c for c in out if any(p.get("n_obs") for p in c["pairs"])]  # never assessed at the timepoint
    out.sort(
        key=lambda c: (
            c["role"] != "primary",
            c["population"] != "ITT",
            CONTRAST_MODELS.index(c["model"]),
            not c["primary"],
        )
    )
    return out


def _tipping(terms: dict[str, dict], rows: Rows, first: str, second: str, arms: Arms) -> dict | None:
    """The MNAR analysis of the pair `first - second` (None for the other models): the outcome's
    worse direction; the tipping delta in MCIDs (and the outcome's unit) with the arm made worse,
    its Monte-Carlo error, the plan's bound and the imputations, or the note saying why there is
    none; and the tipping grid (`_grid`)."""
    row = terms.get(f"tipping delta {first} - {second}") or terms.get(f"tipping delta {second} - {first}")
    if row is None:
        return None
    tipped = {
        "note": row["note"],
        "delta": row["estimate"],
        "worse": "lower" if row["better"] == "higher" else "higher",
    }
    tipped["grid"] = _grid(rows, first, second, arms)
    if row["estimate"] is None:
        return tipped
    later, earlier = row["term"].removeprefix("tipping delta ").split(" - ")
    return tipped | {
        "arm": arms.short(later if row["shift_later"] else earlier),
        "points": row["estimate"] * row["mcid"],
        "unit": row["unit"],
        "mc_error": row["mc_error"],
        "bound": plan.TIPPING_MC_BOUND,
        "imputations": row["imputations"],
    }


def _grid(rows: Rows, first: str, second: str, arms: Arms) -> dict | None:
    """The pair's two-dimensional tipping grid: for each shift of `first`'s imputed values (rows)
    and of `second`'s (columns), in MCIDs in the outcome's worse direction, whether the conclusion
    under MAR (p < alpha or not) is kept; None when the grid was not computed."""
    cells = {}
    for r in rows:
        if r["term"].startswith("tipping grid ") and r["p_value"] is not None:
            later, earlier = r["term"].removeprefix("tipping grid ").split(" - ")
            if {later, earlier} == {first, second}:
                shifts = (r["shift_later"], r["shift_earlier"])
                cells[shifts if later == first else shifts[::-1]] = r["p_value"] < plan.ALPHA
    if not cells:
        return None
    levels = sorted({a for a, _ in cells})
    mar = cells[(0.0, 0.0)]
    kept = [{"shift": a, "kept": [cells[(a, b)] == mar for b in levels]} for a in levels]
    return {
        "first": arms.short(first),
        "second": arms.short(second),
        "significant": mar,
        "levels": levels,
        "rows": kept,
    }


def not_assessed(models: Rows, params: Rows) -> list[str]:
    """Parameters with no model row at the timepoint: not measured at its visit by design (e.g. the
    physical tests at month 6)."""
    fitted = {r["param"] for r in models}
    return [p["label"] for p in params if p["param"] not in fitted]


def slopes(longitudinal: Rows, arms: Arms) -> list[dict]:
    """Slopes per step by arm and their pairwise differences, per model, parameter and population."""
    out = []
    for (model, _, population), rows in _groups(longitudinal, "model", "param_sort", "population"):
        first, terms = rows[0], _by_term(rows)
        per_arm = {term.removeprefix("slope "): r for term, r in terms.items() if " - " not in term}
        out.append(
            {
                "model": model,
                "param": first["param"],
                "label": first["label"],
                "unit": first["unit"],
                "primary": bool(first["primary"]),
                "population": population,
                "arms": [per_arm.get(arm) for arm in arms.order],
                "pairs": [
                    (_oriented(terms, a, b, "slope ") or {}) | {"pair": f"{arms.short(a)} − {arms.short(b)}"}
                    for a, b in arms.pairs()
                ],
            }
        )
    out.sort(key=lambda s: (s["model"] != "GEE", s["population"] != "ITT"))
    return out


def responders(frame: Rows, compared: Rows, arms: Arms) -> list[dict]:
    """Responders per outcome and population by arm, with the risk difference and relative risk of
    each pair of arms shown (oriented as shown); ITT first. The responders by multiple imputation
    (a sensitivity analysis) have comparisons only: no counts by arm (`arms` None), and the
    imputations pooled."""
    by_pair = _groups(compared, "param_sort", "population")
    comparisons = {key: _by_term(rows) for key, rows in by_pair}
    imputed = [(key, rows) for key, rows in by_pair if key[1] == plan.MULTIPLE_IMPUTATION]
    out = []
    for key, rows in sorted(
        _groups(frame, "param_sort", "population") + imputed, key=lambda g: (g[0][1] != plan.ITT, g[0])
    ):
        first, terms, counted = rows[0], comparisons.get(key, {}), key[1] != plan.MULTIPLE_IMPUTATION
        out.append(
            {
                "label": first["label"],
                "mcid": first["mcid"],
                "better": first["better"],
                "population": key[1],
                "arms": _by_arm(rows, arms) if counted else None,
                "imputations": None if counted else first["imputations"],
                "pairs": [_compared(terms, a, b) for a, b in arms.pairs()],
            }
        )
    return out


def _compared(terms: dict[str, dict], first: str, second: str) -> dict | None:
    """The responder comparison of `first` against `second`, from the stored pair in either order."""
    if (direct := terms.get(f"{first} - {second}")) is not None:
        return direct
    if (row := terms.get(f"{second} - {first}")) is None:
        return None
    difference = {"risk_difference": _neg(row["risk_difference"]), "rd_ci_low": _neg(row["rd_ci_high"])}
    difference["rd_ci_high"] = _neg(row["rd_ci_low"])
    ratio = {"relative_risk": _inverse(row["relative_risk"]), "rr_ci_low": _inverse(row["rr_ci_high"])}
    ratio["rr_ci_high"] = _inverse(row["rr_ci_low"])
    return row | difference | ratio


def _inverse(value):
    return None if value is None or value == 0 else 1 / value


def adverse_events(frame: Rows, arms: Arms, randomised: int) -> list[dict]:
    rows = []
    for (dimension, _, category), group in _groups(frame, "dimension", "category_sort", "category", sort=False):
        rows.append({"dimension": dimension, "category": category, "arms": _by_arm(group, arms, EVENTS, randomised)})
    order = {"Any": 0, "Severity": 1, "Seriousness": 2, "Relatedness": 3}
    return sorted(rows, key=lambda r: order.get(r["dimension"], 9))


def ae_listing(frame: Rows, arms: Arms) -> dict:
    """Every adverse event, serious ones first; by arm (its letter when blinded) in a closed report,
    pooled in an open one. Blinded, free text that names an arm or a programme is withheld; nothing
    else is: the open report, read by the same committee, shows every event's severity, seriousness
    and relatedness (docs/blinding.md)."""
    rows, withheld = _listed(frame, arms)
    if arms.blinded:  # in the letters' order, not the warehouse's
        rows.sort(
            key=lambda r: (
                r["serious"] is not True,
                r["onset_day"] is None,
                r["onset_day"] or 0,
                r["description"] or "",
                r["arm"] or "",
            )
        )
    return {"rows": rows, "withheld": withheld}


def _listed(frame: Rows, arms: Arms) -> tuple[Rows, int]:
    """Listing rows as the report shows them: the arm as shown (none pooled), a description that
    names an arm withheld when blinded; and how many were withheld."""
    rows, withheld = [dict(row) for row in frame], 0  # changed below
    for row in rows:
        arm = row.pop("arm")
        row["arm"] = None if arms.pooled or arm is None else arms.short(arm)
        if arms.blinded:
            row["description"], hidden = withhold(row["description"])
            withheld += hidden
    return rows, withheld


def serious_adverse_events(frame: Rows, arms: Arms, per_arm: Rows, randomised: int) -> dict:
    """Serious adverse events: events and participants per arm (from the per-arm table), and a
    listing with participant ids, arm, dates and grading (closed reports only)."""
    serious = [r for r in per_arm if r["dimension"] == "Seriousness" and r["category"] == "Serious"]
    counts = _by_arm(serious, arms, EVENTS, randomised)
    if arms.pooled:
        return {"arms": counts, "rows": None, "withheld": 0}
    rows, withheld = _listed(frame, arms)
    return {"arms": counts, "rows": rows, "withheld": withheld}


def deviations(frame: Rows, arms: Arms, visits: tuple[str, ...]) -> dict:
    """Protocol deviations up to the timepoint's visits: deviations and participants by kind and
    arm, and the listing (by kind and participant, with the arm as shown; closed reports only)."""
    frame = [r for r in frame if r["visit"] is None or r["visit"] in visits]
    counts = []
    for (_, kind), group in _groups(frame, "kind_sort", "kind"):
        per_arm = [
            {"arm": arm, "deviations": len(rows), "participants": _participants(rows)}
            for (arm,), rows in _groups(group, "arm")
        ]
        counts.append(
            {
                "kind": kind,
                "deviations": len(group),
                "participants": _participants(group),
                "arms": _by_arm(per_arm, arms, DEVIATIONS),
            }
        )
    up_to = VISIT_LABELS[visits[-1]].split(" (")[0]
    if arms.pooled:
        return {"counts": counts, "rows": None, "up_to": up_to}
    rows = []
    for row in map(dict, frame):
        arm = row.pop("arm")
        rows.append(
            row
            | {
                "arm": None if arm is None else arms.short(arm),
                "visit": VISIT_LABELS[row["visit"]].split(" (")[0] if row["visit"] else None,
            }
        )
    return {"counts": counts, "rows": rows, "up_to": up_to}


def _participants(rows: Rows) -> int:
    """How many participants the rows are of."""
    return len({r["record_id"] for r in rows if r["record_id"] is not None})


VISIT_CODE = re.compile(r"\b(" + "|".join(VISIT_LABELS) + r")\b")


def _worded(note: str) -> str:
    """A model's note with each visit by its label, not its code ("a week_8 value": "a week 8 value")."""
    return VISIT_CODE.sub(lambda m: VISIT_LABELS[m[1]].split(" (")[0].lower(), note)


def not_fitted(models: Rows) -> list[dict]:
    """The models not fitted at this cut, each named with its parameters and population, and why."""
    missing = [r for r in models if r["status"] != "ok"]
    out = []
    for (model, population, note), group in _groups(missing, "model", "population", "note"):
        labels = list(dict.fromkeys(r["label"] for r in sorted(group, key=lambda r: r["param_sort"])))
        out.append({"model": model, "population": population, "params": labels, "note": _worded(note)})
    return out


def missing_data(frame: Rows, arms: Arms, visits: tuple[str, ...]) -> list[dict]:
    groups = _groups([r for r in frame if r["visit"] in visits], "visit", sort=False)
    return [{"visit": VISIT_LABELS[visit], "arms": _by_arm(group, arms, MISSING)} for (visit,), group in groups]
