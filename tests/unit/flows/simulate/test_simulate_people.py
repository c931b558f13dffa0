"""Recruitment, screening, allocation and identifiers."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import numpy as np

from runback.flows.simulate import identity, people

WEIGHTS = (2, 7, 6, 5, 4, 3, 2)


def _check_letter(nric: str) -> str:
    """The NRIC checksum written out independently of the simulator."""
    total = sum(int(d) * w for d, w in zip(nric[1:8], WEIGHTS, strict=True)) + (4 if nric[0] == "T" else 0)
    return "JZIHGFEDCBA"[total % 11]


def _screening(export):
    return [r for r in export.rows if r["redcap_event_name"] == "baseline_arm_1" and r["scr_date"]]


def _randomised(export):
    return [r for r in export.rows if r["redcap_event_name"] == "baseline_arm_1" and r["rand_group"]]


def test_nric_checksum_known_values():
    assert identity.nric_check_letter("S", "1234567") == "D"
    assert identity.nric_check_letter("T", "1234567") == "J"
    assert identity.nric_check_letter("S", "0000001") == "I"
    assert identity.nric_valid("S1234567D") and not identity.nric_valid("S1234567A")


def test_permuted_blocks_are_balanced_at_each_block_end():
    rng = np.random.default_rng(3)
    sequence = people.permuted_blocks(rng, 300)
    counts = np.zeros(3, dtype=int)
    spreads = []
    for arm in sequence:
        counts[arm - 1] += 1
        spreads.append(counts.max() - counts.min())
    assert max(spreads) <= 2 and set(sequence) == {1, 2, 3}


def test_about_thirty_percent_fail_screening(large, large_last):
    screened = _screening(large_last)
    assert len(screened) == large.screened
    assert 0.26 <= 1 - large.participants / large.screened <= 0.34
    assert [r["record_id"] for r in screened] == [str(i) for i in range(1, large.screened + 1)]


def test_screen_failures_have_only_the_screening_form(large_last):
    rows_per_record = Counter(r["record_id"] for r in large_last.rows)
    failures = [r for r in _screening(large_last) if not r["rand_group"]]
    declined = ineligible = 0
    for r in failures:
        assert rows_per_record[r["record_id"]] == 1
        assert all(r[f"{f}_complete"] == "0" for f in ("baseline_characteristics", "randomisation", "nprs"))
        reasons = [c for c in r if c.startswith("excl_reason___") and r[c] == "1"]
        if r["eligible"] == "0":
            ineligible += 1
            assert 1 <= len(reasons) <= 2 and "excl_reason___5" not in reasons and r["consent"] == ""
        else:
            declined += 1
            assert r["consent"] == "0" and reasons == ["excl_reason___5"] and r["consent_date"] == ""
    assert ineligible > declined > 0


def test_answers_match_the_exclusion_reason(large_last):
    for r in _screening(large_last):
        if r["excl_reason___1"] == "1":
            assert not 2 <= int(r["runs_per_week"]) <= 5
        if r["excl_reason___2"] == "1":
            assert int(r["lbp_months"]) < 3
        if r["rand_group"]:
            assert 2 <= int(r["runs_per_week"]) <= 5 and int(r["lbp_months"]) >= 3 and r["waitlist"] == "1"


def test_recruitment_spans_about_two_years_from_june_2013(large_last, last):
    for export in (large_last, last):
        dates = sorted(dt.date.fromisoformat(r["scr_date"]) for r in _screening(export))
        assert dates[0] < dt.date(2013, 7, 15) and dates[0] >= dt.date(2013, 6, 1)
        assert 640 <= (dates[-1] - dates[0]).days <= 740
        assert all(d.weekday() < 5 for d in dates)


def test_allocation_is_one_to_one_to_one_within_sex(large_last, last):
    for export in (large_last, last):
        by_sex = Counter((r["sex"], r["rand_group"]) for r in _randomised(export))
        for sex in ("1", "2"):
            counts = [by_sex[(sex, g)] for g in ("1", "2", "3")]
            assert max(counts) - min(counts) <= 2, (sex, counts)
    assert len(_randomised(last)) == 84


def test_rand_ids_follow_each_stratum_list(last):
    rows = sorted(_randomised(last), key=lambda r: (r["rand_date"], int(r["record_id"])))
    for sex, prefix in (("1", "M"), ("2", "F")):
        ids = [r["rand_id"] for r in rows if r["sex"] == sex]
        assert ids == [f"{prefix}{i:03d}" for i in range(1, len(ids) + 1)]


def test_consent_and_randomisation_dates(large_last):
    for r in _randomised(large_last):
        scr, consent, rand = (dt.date.fromisoformat(r[c]) for c in ("scr_date", "consent_date", "rand_date"))
        assert scr <= consent <= rand <= consent + dt.timedelta(days=10)


def test_identifiers_look_real(large_last):
    rows = _screening(large_last)
    for r in rows:
        assert re.fullmatch(r"[ST]\d{7}[A-Z]", r["nric"]) and r["nric"][-1] == _check_letter(r["nric"])
        assert re.fullmatch(r"(\+65 )?[89]\d{3} \d{4}", r["phone"])
        assert re.fullmatch(r"[a-z][a-z0-9.]*@[a-z.]+\.[a-z]+", r["email"])
        assert r["first_name"] and r["last_name"]
    assert len({r["nric"] for r in rows}) > 0.99 * len(rows)
    assert len({r["last_name"] for r in rows}) > 40
    assert any(r["phone"].startswith("+65") for r in rows) and any(r["phone"][0] in "89" for r in rows)


def test_age_and_sex(large_last):
    rows = _screening(large_last)
    ages = np.array([int(r["age"]) for r in rows])
    assert ages.min() >= 18 and ages.max() <= 45
    assert 26 <= ages.mean() <= 29 and 4.5 <= ages.std() <= 6.5
    men = sum(r["sex"] == "1" for r in rows) / len(rows)
    assert 0.45 <= men <= 0.55
