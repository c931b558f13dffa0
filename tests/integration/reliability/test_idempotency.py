"""The same nightly exports, handed over in any order and with repeats, give the same content.

Within a run the exports are applied oldest first (`find_exports`), a file already applied is
skipped, and an export older than one applied is recorded but never applied: so the content
depends only on which exports arrived, not on the order they were listed or repeated in."""

import duckdb
import pytest

from runback.flows.analyse.refresh import refresh_analysis
from runback.flows.ingest.files import find_exports
from runback.flows.ingest.pipeline import ingest_file
from runback.flows.query.integrity import content_hash, problems
from runback.flows.settings import PROJECT_DIR
from runback.flows.simulate import simulate
from runback.flows.warehouse import connect


@pytest.mark.slow
def test_orders_and_repeats_give_identical_content(tmp_path, study):
    nights = list(simulate(tmp_path / "exports", participants=30, seed=12, defects=True, nights=5).files)
    plans = {  # runs, each a list of files handed to one ingest
        "one run, in order": [[0, 1, 2, 3, 4]],
        "one run, reversed": [[4, 3, 2, 1, 0]],
        "one run, shuffled with duplicates": [[2, 0, 2, 4, 1, 4, 3, 0]],
        "night by night, with repeats": [[0], [0, 1], [1, 2], [2, 3, 4], [4], [3, 4]],
    }
    hashes = {}
    for name, runs in plans.items():
        db = tmp_path / f"{name.replace(' ', '_').replace(',', '')}.duckdb"
        for run in runs:
            for entry in find_exports([nights[i] for i in run]):
                ingest_file(entry, db, PROJECT_DIR)
        with connect(db) as con:
            refresh_analysis(con, study, con.execute("select max(cut_id) from meta.data_cuts").fetchone()[0])
        with duckdb.connect(str(db), read_only=True) as con:
            assert problems(con) == [], name
            hashes[name] = content_hash(con)
    assert len(set(hashes.values())) == 1, hashes
