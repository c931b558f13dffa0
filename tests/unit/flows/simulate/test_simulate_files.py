"""The simulator's files: names, determinism, header and bytes, growth, corrections."""

from __future__ import annotations

import datetime as dt
import re
from itertools import pairwise

import pytest

from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate


def _fputcsv(values: list[str], delimiter: str = ",") -> str:
    """PHP fputcsv: quote a value only if it holds the delimiter, a quote, CR, LF, TAB or space."""
    out = []
    for v in values:
        if any(ch in v for ch in (delimiter, '"', "\r", "\n", "\t", " ")):
            v = '"' + v.replace('"', '""') + '"'
        out.append(v)
    return delimiter.join(out)


def test_same_seed_writes_the_same_bytes(tmp_path):
    a = simulate(tmp_path / "a", participants=30, seed=7, defects=True, nights=6)
    b = simulate(tmp_path / "b", participants=30, seed=7, defects=True, nights=6)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a.defects == b.defects


def test_another_seed_writes_other_data(tmp_path):
    a = simulate(tmp_path / "a", participants=30, seed=7, nights=3)
    b = simulate(tmp_path / "b", participants=30, seed=8, nights=3)
    assert a.files[-1].read_bytes() != b.files[-1].read_bytes()


def test_defects_leave_the_trial_underneath_unchanged(clean, faulty):
    # the first night never carries faults, so it is the same file with or without them
    assert clean.files[0].read_bytes() == faulty.files[0].read_bytes()
    assert [p.name for p in clean.files] == [p.name for p in faulty.files]


def test_files_are_named_by_night_in_order(clean):
    assert len(clean.files) == 10
    assert all(re.fullmatch(r"RUNBACK_DATA_\d{4}-\d{2}-\d{2}_0200\.csv", p.name) for p in clean.files)
    dates = [dt.date.fromisoformat(p.name[13:23]) for p in clean.files]
    assert dates == sorted(set(dates)) == clean.nights
    gaps = {(b - a).days for a, b in pairwise(dates)}
    assert max(gaps) - min(gaps) <= 1  # spread evenly
    assert clean.manifest is None and clean.participants == 84


def test_dictionary_is_a_copy_dated_on_the_first_night(clean):
    assert clean.dictionary.name == f"RUNBACK_DataDictionary_{clean.nights[0].isoformat()}.csv"
    assert clean.dictionary.read_bytes() == (PROJECT_DIR / "RUNBACK_DataDictionary.csv").read_bytes()


def test_header_is_the_study_export_columns(clean, study, read_export):
    header = ",".join(study.export_columns()) + "\n"
    for path in clean.files:
        data = path.read_bytes()
        assert data.startswith(header.encode()), path.name
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data and data.endswith(b"\n")
        assert read_export(path).header == study.export_columns()


def test_values_are_quoted_as_fputcsv_does(clean, read_export):
    export = read_export(clean.files[-1])
    lines = [_fputcsv(export.header)] + [_fputcsv(list(r.values())) for r in export.rows]
    assert "\n".join(lines) + "\n" == export.data.decode("utf-8")
    notes = [r["sess_note"] for r in export.rows if r["sess_note"]]
    assert any("\n" in n for n in notes) and any(n.startswith("-") for n in notes) and any('"' in n for n in notes)


def test_snapshots_grow_and_keep_their_rows(clean, read_export):
    exports = [read_export(p) for p in clean.files]
    sizes = [len(e.rows) for e in exports]
    assert sizes[0] < 60 and sizes == sorted(sizes) and sizes[-1] > 2000
    for older, newer in pairwise(exports):
        keys = {tuple(r[k] for k in list(r)[:4]) for r in newer.rows}
        assert all(tuple(r[k] for k in list(r)[:4]) in keys for r in older.rows)


def test_no_value_is_dated_after_its_export(clean, study, read_export):
    dates = [f.name for f in study.fields if f.kind == "date"]
    for path in clean.files:
        export = read_export(path)
        latest = max(r[c] for r in export.rows for c in dates if r[c])
        assert latest < export.date.isoformat(), path.name


def test_some_old_values_are_corrected_between_nights(clean, read_export):
    changed = []
    for older, newer in pairwise(clean.files):
        before = {tuple(list(r.values())[:4]): r for r in read_export(older).rows}
        for row in read_export(newer).rows:
            old = before.get(tuple(list(row.values())[:4]))
            if old:
                changed += [c for c, v in old.items() if v and v != row[c] and not c.endswith("_complete")]
    assert 1 <= len(changed) <= 30


def test_recent_forms_are_sometimes_incomplete(clean, read_export):
    export = read_export(clean.files[-1])
    status = [r["nprs_complete"] for r in export.rows if r["nprs_date"]]
    assert status.count("2") > 0.85 * len(status) and "1" in status
    middle = read_export(clean.files[5])
    assert any(r["session_log_complete"] == "0" for r in middle.rows if r["sess_date"])


def test_rewrites_its_own_files_but_refuses_another_simulations(tmp_path):
    first = simulate(tmp_path, participants=12, seed=3, nights=3, defects=True)
    again = simulate(tmp_path, participants=12, seed=3, nights=3, defects=True)
    assert again.files == first.files
    with pytest.raises(ValueError, match="another simulation"):
        simulate(tmp_path, participants=12, seed=3, nights=4, defects=True)
    with pytest.raises(ValueError, match="defects.json"):
        simulate(tmp_path, participants=12, seed=3, nights=3)  # would leave a stale manifest
    written = [p.name for p in first.files] + [first.dictionary.name, "defects.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)


def test_refuses_impossible_arguments(tmp_path):
    with pytest.raises(ValueError):
        simulate(tmp_path, participants=0)
    with pytest.raises(ValueError, match="do not fit"):
        simulate(tmp_path, participants=3, nights=5000)


def test_a_two_site_trial_names_each_records_site_in_the_data_access_group_column(tmp_path):
    from runback.flows.simulate.people import SITES
    from tests.unit.flows.simulate.helpers import read

    one = simulate(tmp_path / "one", participants=30, seed=7, nights=2)
    two = simulate(tmp_path / "two", participants=30, seed=7, nights=2, sites=2)
    plain, grouped = read(one.files[-1]), read(two.files[-1])
    assert "redcap_data_access_group" not in plain.header
    assert grouped.header[:5] == [
        "record_id",
        "redcap_event_name",
        "redcap_repeat_instrument",
        "redcap_repeat_instance",
        "redcap_data_access_group",
    ]
    assert [c for c in grouped.header if c != "redcap_data_access_group"] == plain.header
    site_of = {}
    for row in grouped.rows:  # REDCap's group is the record's: the same on every row of a record
        assert site_of.setdefault(row["record_id"], row["redcap_data_access_group"]) == row["redcap_data_access_group"]
    assert set(site_of.values()) == set(SITES[:2])
    stripped = [{k: v for k, v in r.items() if k != "redcap_data_access_group"} for r in grouped.rows]
    assert stripped == plain.rows  # the same trial underneath
