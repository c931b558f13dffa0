"""Responders' risk difference (Newcombe's hybrid score interval) and relative risk (log interval)
against R (committed fixture made by `fixtures/make_responders_reference.R`; no R is needed)."""

from pathlib import Path

import pandas as pd
import pytest

from runback.flows.analyse import responders

REFERENCE = pd.read_csv(Path(__file__).parent / "fixtures" / "responders_reference.csv")


def _none_if_nan(value: float) -> float | None:
    return None if pd.isna(value) else value


@pytest.mark.parametrize(
    "row", REFERENCE.to_dict("records"), ids=lambda r: f"{r['x1']}of{r['n1']}-{r['x2']}of{r['n2']}"
)
def test_risk_difference_and_ratio_match_r(row):
    table = (int(row["x1"]), int(row["n1"]), int(row["x2"]), int(row["n2"]))
    difference = responders.risk_difference(*table)
    assert (difference.estimate, difference.ci_low, difference.ci_high) == pytest.approx(
        (row["difference"], row["difference_low"], row["difference_high"]), abs=1e-12
    )
    ratio = responders.relative_risk(*table)
    expected = tuple(_none_if_nan(row[k]) for k in ("ratio", "ratio_low", "ratio_high"))
    if expected[0] is None:
        assert ratio == responders.Comparison(None, None, None)
    else:
        assert (ratio.estimate, ratio.ci_low, ratio.ci_high) == pytest.approx(expected, rel=1e-12)


def test_newcombes_first_example():
    """Newcombe (1998), Table II, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339."""
    d = responders.risk_difference(56, 70, 48, 80)
    assert (round(d.ci_low, 4), round(d.ci_high, 4)) == (0.0524, 0.3339)


def test_the_difference_is_antisymmetric_and_an_empty_arm_gives_nothing():
    forward, backward = responders.risk_difference(3, 27, 0, 28), responders.risk_difference(0, 28, 3, 27)
    assert (forward.estimate, forward.ci_low, forward.ci_high) == pytest.approx(
        (-backward.estimate, -backward.ci_high, -backward.ci_low), abs=1e-15
    )
    assert responders.risk_difference(0, 0, 3, 27) == responders.Comparison(None, None, None)
    assert responders.relative_risk(3, 27, 0, 0) == responders.Comparison(None, None, None)
