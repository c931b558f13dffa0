"""A coarse check of the outcome model on 1500 simulated participants (the published effects)."""

from __future__ import annotations

import statistics

import pytest

ARMS = {"1": "LL", "2": "LE", "3": "LS"}


def _by_record(export, event):
    return {
        r["record_id"]: r for r in export.rows if r["redcap_event_name"] == event and not r["redcap_repeat_instrument"]
    }


def _psfs(row):
    scores = [int(row[f"psfs_score{k}"]) for k in (1, 2, 3) if row[f"psfs_act{k}"]]
    return sum(scores) / len(scores) if scores else None


def _nprs(row):
    return int(row["nprs_run"]) if row["nprs_run"] else None


def _torque(row):
    sides = [float(row[c]) for c in ("ke_torque_l", "ke_torque_r") if row[c]]
    return sum(sides) / len(sides) if sides else None


def _changes(export, value, event="month_6_arm_1"):
    baseline, later = _by_record(export, "baseline_arm_1"), _by_record(export, event)
    out = {arm: [] for arm in ARMS.values()}
    for record, row in later.items():
        before, after = value(baseline[record]), value(row)
        if before is not None and after is not None:
            out[ARMS[baseline[record]["rand_group"]]].append(after - before)
    return {arm: statistics.mean(v) for arm, v in out.items()}


def test_psfs_improves_most_with_lower_limb_training(large_last):
    change = _changes(large_last, _psfs)
    assert change["LL"] == pytest.approx(4 * 0.949, abs=0.3)
    assert change["LE"] == pytest.approx(4 * (0.949 - 0.198), abs=0.3)
    assert change["LS"] == pytest.approx(4 * (0.949 - 0.263), abs=0.3)


def test_running_pain_falls_by_three_points_in_every_arm(large_last):
    change = _changes(large_last, _nprs)
    assert all(c == pytest.approx(4 * -0.746, abs=0.3) for c in change.values())


def test_knee_torque_rises_at_week_8_in_the_lower_limb_arm(large_last):
    baseline = [_torque(r) for r in _by_record(large_last, "baseline_arm_1").values() if r["rand_group"]]
    assert statistics.mean(v for v in baseline if v is not None) == pytest.approx(2.1, abs=0.05)
    change = _changes(large_last, _torque, "week_8_arm_1")
    assert change["LL"] == pytest.approx(2 * 0.260, abs=0.05)
    assert change["LE"] == pytest.approx(2 * 0.040, abs=0.05)
    assert change["LS"] == pytest.approx(2 * 0.054, abs=0.05)


def test_baseline_pain_and_psfs_items(large_last):
    baseline = [r for r in _by_record(large_last, "baseline_arm_1").values() if r["rand_group"]]
    pain = [_nprs(r) for r in baseline if r["nprs_run"]]
    assert statistics.mean(pain) == pytest.approx(6.5, abs=0.2) and 0.9 <= statistics.stdev(pain) <= 1.5
    named = [sum(bool(r[f"psfs_act{k}"]) for k in (1, 2, 3)) for r in baseline]
    assert named.count(3) > named.count(2) > named.count(1) > 0
    assert sum(r["odi_q8"] == "" for r in baseline) > 0.15 * len(baseline)
