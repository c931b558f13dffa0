"""`defects=True`: the faults, where they are, and the manifest that names them."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from runback.flows.simulate import simulate

KINDS = {
    "out_of_range": "quarantine",
    "non_numeric": "quarantine",
    "impossible_date": "quarantine",
    "randomisation_changed": "quarantine",
    "duplicate_key": "quarantine",
    "unknown_event": "quarantine",
    "labels_header": "refuse",
    "hand_export": "load",
    "leading_space": "load",
}
VALUE_KINDS = ("out_of_range", "non_numeric", "impossible_date", "leading_space")
FILE_KINDS = ("labels_header", "hand_export")


@pytest.fixture(scope="module")
def manifest(faulty):
    entries = json.loads(faulty.manifest.read_text())
    assert entries == faulty.defects
    return entries


@pytest.fixture(scope="module")
def by_name(faulty):
    return {p.name: p for p in faulty.files}


def _plain_nights(faulty, manifest) -> list[str]:
    """Names of the nights written as ordinary raw comma exports."""
    whole = {e["file"] for e in manifest if e["kind"] in FILE_KINDS}
    return [p.name for p in faulty.files if p.name not in whole]


def test_manifest_names_every_kind_with_its_expectation(manifest):
    assert {e["kind"] for e in manifest} == set(KINDS)
    assert all(e["expect"] == KINDS[e["kind"]] for e in manifest)
    assert all(
        set(e) == {"file", "kind", "record", "event", "instance", "form", "field", "value", "expect"} for e in manifest
    )
    counts = Counter(e["kind"] for e in manifest)
    assert counts["out_of_range"] >= 2 and counts["non_numeric"] >= 2 and counts["impossible_date"] >= 2


def test_faults_only_between_the_first_and_last_night(faulty, manifest):
    names = [p.name for p in faulty.files]
    first, last = names[0], names[-1]
    assert not any(e["file"] == first for e in manifest)
    assert {e["kind"] for e in manifest if e["file"] == last} <= {"randomisation_changed"}
    per_night = Counter(e["file"] for e in manifest if e["kind"] in FILE_KINDS)
    assert max(per_night.values()) == 1
    file_nights = set(per_night)
    assert not any(
        e["file"] in file_nights for e in manifest if e["kind"] in VALUE_KINDS + ("duplicate_key", "unknown_event")
    )


def test_each_fault_hits_its_own_record_and_no_identifier(manifest, study):
    records = [e["record"] for e in manifest if e["record"] and e["kind"] != "randomisation_changed"]
    changed = {e["record"] for e in manifest if e["kind"] == "randomisation_changed"}
    assert len(records) == len(set(records)) and len(changed) == 1 and not changed & set(records)
    identifiers = set(study.identifiers)
    assert not any(e["field"] in identifiers for e in manifest)


def test_value_faults_are_in_their_file_only(manifest, by_name, read_export, faulty):
    names = _plain_nights(faulty, manifest)
    for e in manifest:
        if e["kind"] not in VALUE_KINDS:
            continue
        export = read_export(by_name[e["file"]])
        assert export.row(e["record"], e["event"], e["instance"])[e["field"]] == e["value"], e
        following = read_export(by_name[names[names.index(e["file"]) + 1]])
        assert following.row(e["record"], e["event"], e["instance"])[e["field"]] != e["value"], e


def test_value_faults_look_like_their_kind(manifest, study):
    for e in manifest:
        if e["kind"] == "out_of_range":
            assert float(e["value"]) > float(study.field_map[e["field"]].range[1])
        elif e["kind"] == "non_numeric":
            with pytest.raises(ValueError):
                float(e["value"])
        elif e["kind"] == "impossible_date":
            assert len(e["value"]) == 10
            with pytest.raises(ValueError):
                dt.date.fromisoformat(e["value"])
        elif e["kind"] == "leading_space":
            assert e["value"].startswith(" -")


def test_randomisation_changes_and_stays_changed(manifest, by_name, read_export, faulty):
    changed = [e for e in manifest if e["kind"] == "randomisation_changed"]
    labels = next(e["file"] for e in manifest if e["kind"] == "labels_header")
    loadable = [p.name for p in faulty.files if p.name != labels]
    first = loadable.index(changed[0]["file"])
    record = changed[0]["record"]
    before = read_export(by_name[loadable[first - 1]]).row(record, "baseline_arm_1")["rand_group"]
    assert before and before != changed[0]["value"]
    assert [e["file"] for e in changed] == loadable[first:]
    for e in changed:
        assert read_export(by_name[e["file"]]).row(record, "baseline_arm_1")["rand_group"] == e["value"]


def test_duplicate_keys_are_written_twice(manifest, by_name, read_export):
    duplicates = [e for e in manifest if e["kind"] == "duplicate_key"]
    assert {e["event"] for e in duplicates} >= {"programme_arm_1"} and len(duplicates) >= 2
    assert any(e["instance"] is None for e in duplicates)
    for e in duplicates:
        rows = read_export(by_name[e["file"]]).find(e["record"], e["event"], e["instance"])
        assert len(rows) == 2
        if e["instance"] is not None:
            assert rows[0]["redcap_repeat_instrument"] == rows[1]["redcap_repeat_instrument"] == e["form"]


def test_unknown_event_row_carries_nprs(manifest, by_name, read_export):
    for e in (e for e in manifest if e["kind"] == "unknown_event"):
        row = read_export(by_name[e["file"]]).row(e["record"], "week_12_arm_1")
        assert row[e["field"]] == e["value"] == "week_12_arm_1"
        assert row["nprs_run"] and row["nprs_date"] and row["nprs_complete"] == "2"


def test_labels_night_has_a_labels_header(manifest, by_name, read_export):
    e = next(e for e in manifest if e["kind"] == "labels_header")
    export = read_export(by_name[e["file"]])
    assert export.header[:4] == ["Record ID", "Event Name", "Repeat Instrument", "Repeat Instance"]
    assert "Complete?" in export.header and any("(choice=" in h for h in export.header)
    assert {r["Event Name"] for r in export.rows} <= {
        "Baseline",
        "Programme",
        "Week 4",
        "Week 8",
        "Month 3",
        "Month 6",
        "Study end",
    }
    assert {r["Sex"] for r in export.rows} == {"Male", "Female", ""}


def test_hand_export_night(manifest, by_name, read_export):
    e = next(e for e in manifest if e["kind"] == "hand_export")
    data = by_name[e["file"]].read_bytes()
    assert data.startswith(b"\xef\xbb\xbfrecord_id;redcap_event_name;")
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith(b"\r\n")
    export = read_export(by_name[e["file"]])
    notes = [r["sess_note"] for r in export.rows if r["sess_note"]] + [
        r["ae_desc"] for r in export.rows if r["ae_desc"]
    ]
    assert any(n.startswith(" -") for n in notes)
    assert not any("\n" in n for n in notes) and any("  " in n for n in notes)
    assert not any(v[:1] in "-+@=" and v for r in export.rows for v in r.values())


def test_leading_space_in_a_comma_night(manifest, by_name):
    e = next(e for e in manifest if e["kind"] == "leading_space")
    data = by_name[e["file"]].read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data
    assert f',"{e["value"]}",'.encode() in data


def test_few_nights_get_what_fits(tmp_path):
    two = simulate(tmp_path / "two", participants=30, defects=True, nights=2)
    assert two.defects == [] and json.loads(two.manifest.read_text()) == []
    four = simulate(tmp_path / "four", participants=30, defects=True, nights=4)
    kinds = {e["kind"] for e in four.defects}
    assert "labels_header" in kinds and "hand_export" not in kinds and "out_of_range" in kinds
