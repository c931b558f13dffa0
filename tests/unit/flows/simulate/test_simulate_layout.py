"""Rows and columns as REDCap lays them out: designated forms only, repeat rows, order, calcs."""

from __future__ import annotations

import datetime as dt

import pytest

KEYS = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")


def _form_columns(study):
    return {name: study.form_columns(name) for name in study.forms}


def _saved(row, columns):
    return any(row[c] for c in columns[:-1] if "___" not in c)


@pytest.mark.parametrize("night", [0, 4, -1])
def test_rows_carry_only_their_designated_forms(clean, study, read_export, night):
    export = read_export(clean.files[night])
    forms = _form_columns(study)
    events = set(study.event_map)
    for row in export.rows:
        event, instrument, instance = (
            row["redcap_event_name"],
            row["redcap_repeat_instrument"],
            row["redcap_repeat_instance"],
        )
        assert event in events
        if instrument:
            assert study.repeats(event, instrument) and instance.isdigit() and int(instance) >= 1
            on_row = {instrument}
        else:
            assert instance == ""
            on_row = {f for f in study.forms_in_event(event) if not study.repeats(event, f)}
        assert on_row
        for form, columns in forms.items():
            cells = [row[c] for c in columns if c != study.record_id]
            if form not in on_row:
                assert not any(cells), (row["record_id"], event, form)
                continue
            status = row[columns[-1]]
            assert status in ("0", "1", "2")
            boxes = [row[c] for c in columns if "___" in c]
            if _saved(row, columns):
                assert all(b in ("0", "1") for b in boxes)
            else:
                assert status == "0" and not any(boxes), (row["record_id"], event, form)
        assert any(_saved(row, forms[f]) for f in on_row)


def test_rows_are_ordered_by_record_event_instrument_instance(last, study):
    events = list(study.event_map)
    forms = [""] + list(study.forms)
    keys = [
        (
            int(r["record_id"]),
            events.index(r["redcap_event_name"]),
            forms.index(r["redcap_repeat_instrument"]),
            int(r["redcap_repeat_instance"] or 0),
        )
        for r in last.rows
    ]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_repeat_instances_count_from_one(last):
    """REDCap numbers the instances of a repeating instrument within its record and event."""
    seen = {}
    for r in last.rows:
        if r["redcap_repeat_instrument"]:
            seen.setdefault((r["record_id"], r["redcap_event_name"], r["redcap_repeat_instrument"]), []).append(
                int(r["redcap_repeat_instance"])
            )
    assert seen and all(v == list(range(1, len(v) + 1)) for v in seen.values())


def test_forms_only_at_their_events(last):
    def events_with(column):
        return {r["redcap_event_name"] for r in last.rows if r[column]}

    assert events_with("pt_date") == {"baseline_arm_1", "week_8_arm_1"}
    assert events_with("odi_date") == {"baseline_arm_1", "week_8_arm_1", "month_3_arm_1", "month_6_arm_1"}
    assert events_with("nprs_date") == {
        "baseline_arm_1",
        "week_4_arm_1",
        "week_8_arm_1",
        "month_3_arm_1",
        "month_6_arm_1",
    }
    assert events_with("sess_date") == events_with("ae_onset") == {"programme_arm_1"}
    assert events_with("end_status") == {"study_end_arm_1"}


def test_calc_fields_hold_their_computed_values(last):
    checked = 0
    for r in last.rows:
        if r["dob"]:
            dob, scr = dt.date.fromisoformat(r["dob"]), dt.date.fromisoformat(r["scr_date"])
            assert int(r["age"]) == scr.year - dob.year - ((scr.month, scr.day) < (dob.month, dob.day))
        if r["bmi"]:
            bmi = float(r["weight_kg"]) / (float(r["height_cm"]) / 100) ** 2
            assert abs(float(r["bmi"]) - bmi) <= 0.05 + 1e-9
            assert not r["bmi"].endswith(".0")
            checked += 1
    assert checked == 84


def test_numbers_have_the_precision_of_their_field(last, study):
    patterns = {"integer": r"^\d+$", "number_1dp": r"^\d+\.\d$", "number_2dp": r"^\d+\.\d\d$"}
    import re

    codes = set(study.missing_codes)
    for f in study.fields:
        pattern = patterns.get(f.validation)
        if not pattern:
            continue
        values = [r[f.name] for r in last.rows if r[f.name] and r[f.name] not in codes]
        assert all(re.match(pattern, v) for v in values), f.name
        low, high = (float(x) if x else None for x in f.range)
        assert all((low is None or float(v) >= low) and (high is None or float(v) <= high) for v in values), f.name


def test_missing_data_codes_are_rare_and_never_in_keys_or_dates(last, study):
    codes = set(study.missing_codes)
    used = [(c, v) for r in last.rows for c, v in r.items() if v in codes]
    boxes = [
        c for r in last.rows for c, v in r.items() if c.endswith(("___unk", "___na", "___nask", "___asku")) and v == "1"
    ]
    assert used and boxes
    dates = {f.name for f in study.fields if f.kind == "date"} | set(KEYS)
    assert not any(c in dates for c, _ in used)
    optional = sum(1 for r in last.rows for c in ("nprs_avg", "sorensen_s", "step_length_cm") if r[c])
    assert len(used) <= 0.02 * optional + 2
