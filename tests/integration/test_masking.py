"""Masking by what a field is, not what it is called: a newer dictionary that adds a second field
holding the allocation (the randomisation field's own choices) has it masked at intake like
`rand_group`, its arm labels masked in the recorded dictionary, and the ingest says so."""

import csv
import logging
import shutil

from runback.flows.allocation import new_key
from runback.flows.ingest.pipeline import Options, ingest_file
from runback.flows.ingest.project import load_project
from runback.flows.settings import PROJECT_DIR
from runback.flows.warehouse import connect_read_only
from runback.schemas.trial import ARM_NAMES, ARMS
from tests.helpers import randomised, write_export


def test_a_second_field_holding_the_allocation_is_masked_at_intake(tmp_path, caplog):
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project)
    dictionary = project / "RUNBACK_DataDictionary.csv"
    with dictionary.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rand_group = next(r for r in rows if r[0] == "rand_group")
    rows.insert(rows.index(rand_group) + 1, ["programme_given", *rand_group[1:]])  # same form, same choices
    with dictionary.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    study = load_project(project)
    export = write_export(
        tmp_path,
        "RUNBACK_DATA_2014-02-01_0200.csv",
        study,
        [randomised(str(i), group, programme_given=group) for i, group in enumerate("123123", start=1)],
    )
    key = tmp_path / "keys" / "allocation.key"
    new_key(key)
    db = tmp_path / "w.duckdb"

    with caplog.at_level(logging.WARNING, logger="runback"):
        result = ingest_file(export, db, project, Options(key=key))
    assert result.status == "loaded", result.message
    assert "programme_given" in caplog.text  # the ingest names the field it masked

    with connect_read_only(db) as con:
        stored = {v for (v,) in con.execute("select distinct programme_given from clean.randomisation").fetchall()}
        recorded = " ".join(d for (d,) in con.execute("select definition from meta.dictionary_versions").fetchall())
    assert stored == {"A", "B", "C"}
    assert not set(ARMS) & stored
    assert not any(name in recorded for name in ARM_NAMES.values())
