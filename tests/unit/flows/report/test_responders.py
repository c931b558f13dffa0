"""The report's responders (`flows/report/context.py` responders, `reports/_responders.html.j2`):
every randomised participant due, the missing counted as non-responders and shown, and the
between-arm comparisons of each pair of arms as the report shows the pair, the responders by multiple
imputation as a sensitivity row; never in an open report."""

import re

from runback.flows.report.blinding import Arms
from runback.flows.report.context import responders
from tests.helpers import build_warehouse, page_text, randomised, report_html, simulated_warehouse, visit

STORED = {"param_sort": 0, "population": "ITT", "term": "B - A", "risk_difference": 0.25}
STORED |= {"rd_ci_low": -0.1, "rd_ci_high": 0.5, "relative_risk": 2.0, "rr_ci_low": 0.5, "rr_ci_high": 8.0}


def _counts(arm: str, n: int, observed: int, found: int) -> dict:
    common = {"param_sort": 0, "population": "ITT", "label": "Pain", "mcid": 2.0, "better": "lower"}
    return common | {"arm": arm, "n": n, "observed": observed, "responders": found}


def test_a_pair_shown_the_other_way_round_is_the_stored_one_turned_over():
    """Unblinded, A stands for LE and B for LL: the report shows LE - LL, the stored term is B - A."""
    labels = {"A": "LE: lumbar", "B": "LL: lower limb", "C": "LS: stabilisation"}
    arms = Arms(labels, blinded=False, codes={"A": "LE", "B": "LL", "C": "LS"})
    counts = [_counts("A", 4, 3, 1), _counts("B", 4, 4, 2)]
    (row,) = responders(counts, [STORED], arms)
    (pair,) = [p for p in row["pairs"] if p]
    assert (pair["risk_difference"], pair["rd_ci_low"], pair["rd_ci_high"]) == (-0.25, -0.5, 0.1)
    assert (pair["relative_risk"], pair["rr_ci_low"], pair["rr_ci_high"]) == (0.5, 0.125, 2.0)
    blinded = Arms({"A": "Arm A", "B": "Arm B", "C": "Arm C"}, blinded=True)
    assert responders(counts, [STORED], blinded)[0]["pairs"] == [STORED, None, None]


def test_the_closed_report_shows_the_missing_as_non_responders_and_each_pair(tmp_path, study):
    """Six randomised on 2014-01-10, all due at week 8 by the cut of 2014-06-01; four assessed (pain
    during running 6 -> 3, a response), one of each of two arms not: counted, non-responders."""
    night = [randomised(str(i), group=str(i % 3 + 1)) for i in range(1, 7)]
    night += [
        visit(str(i), "week_8_arm_1", nprs_date="2014-03-07", nprs_run="3", nprs_avg="2", nprs_complete="2")
        for i in range(1, 5)
    ]
    db = build_warehouse(tmp_path, study, [night])
    closed = page_text(report_html(db, 1, "week_8"))
    assert closed.count("2/2 (100%)") >= 1 and closed.count("1/2 (50%)") >= 2
    assert closed.count("1 missing: non-responders") >= 2
    assert "RD +0.50 [" in closed or "RD −0.50 [" in closed
    assert "Newcombe" in closed
    opened = page_text(report_html(db, 1, "week_8", audience="open"))
    assert "Newcombe" not in opened and "non-responders" not in opened


def test_the_responders_by_multiple_imputation_are_a_sensitivity_row_of_the_closed_report_only(tmp_path, study):
    """36 simulated participants: at week 8 each primary outcome has a row of every pair by multiple
    imputation, with its imputations and values imputed; the open report has none of it."""
    db, cut = simulated_warehouse(tmp_path, study, participants=36, seed=5, nights=3)
    closed = report_html(db, cut, "week_8")
    rows = re.findall(r'<tr data-population="Multiple imputation">(.*?)</tr>', closed, flags=re.S)
    assert len(rows) == 2 and all(re.search(r"\(sensitivity; \d+ imputations\)", row) for row in rows)
    assert all(row.count("RD ") == 3 and row.count("data-imputed=") == 3 and "RR " not in row for row in rows)
    assert "within-imputation variance p1(1−p1)/n1" in page_text(closed)
    assert "Multiple imputation" not in report_html(db, cut, "month_6")
    opened = report_html(db, cut, "week_8", audience="open")
    assert "Multiple imputation" not in opened and "data-imputed" not in opened and "imputations)" not in opened
    assert "within-imputation variance" not in page_text(opened)
