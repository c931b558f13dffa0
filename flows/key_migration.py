"""`runback key migrate`: mask the allocation of a warehouse made before runback masked it at intake.

A command on top of the stages: it rewrites what ingest stored, clears and re-runs the analysis.
The key itself (reading, fingerprints, masking an export) is `runback.flows.allocation`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from runback.flows import warehouse
from runback.flows.allocation import KeyError_, check_location, upgrade_key
from runback.flows.analyse.refresh import analysable, refresh_analysis
from runback.flows.analyse.tables import TABLES
from runback.flows.cuts import cuts
from runback.flows.errors import Refused
from runback.flows.ingest import dictionary
from runback.flows.ingest.project import load_project
from runback.schemas.arms import ALLOCATION_FIELDS, BLINDED_ARMS


def mask_warehouse(db: Path, key_path: Path) -> str:
    """Mask the allocation of a warehouse made before it was masked at intake, with its key: every
    stored allocation value becomes its letter (raw, clean, quarantine), the recorded dictionaries
    say so, the analysis (which held the arms) is cleared, the key's fingerprint is recorded, and
    the newest cut is analysed again. Logged in meta.unblinding; one transaction."""
    db = Path(db)
    if not db.exists():
        raise Refused(f"there is no warehouse at {db}.", "Name it with --db.")
    check_location(key_path, db)
    key = upgrade_key(key_path)
    con = warehouse.connect(db)
    try:
        (recorded,) = warehouse.rows(con, "ingest/key_fingerprint")[0]
        if recorded == key.fingerprint:
            return f"the warehouse {db} is masked with this key already (fingerprint {key.fingerprint})"
        if recorded is not None:
            raise KeyError_(f"the warehouse {db} is masked with another key ({recorded}).", "Name that key.")
        codes = pd.DataFrame(list(key.letter_of_code().items()), columns=["code", "letter"])
        con.register("key_map", codes)
        with warehouse.transaction(con):
            for schema in ("raw", "clean"):
                for form in {"randomisation"} & set(warehouse.form_tables(con, schema)):
                    con.execute(warehouse.sql("warehouse/mask_allocation", schema=schema, form=form))
            con.execute(warehouse.sql("warehouse/mask_quarantine"))
            _mask_dictionaries(con)
            for table in TABLES:
                con.execute(warehouse.sql("warehouse/clear_analysis", table=table))
            con.execute(warehouse.sql("ingest/record_key"), {"key_fingerprint": key.fingerprint, "file_id": None})
            con.execute(warehouse.sql("warehouse/stamp_cuts"), {"key_fingerprint": key.fingerprint})
            logged = {"what": "mask", "data_cut": None, "target": str(db), "key_fingerprint": key.fingerprint}
            con.execute(warehouse.sql("query/insert_unblinding"), logged)
        con.unregister("key_map")
        latest = cuts(con).latest
        study = load_project()
        if latest is not None and analysable(study):
            refresh_analysis(con, study, latest)
    finally:
        con.close()
    return f"masked the allocation of {db} with the key of fingerprint {key.fingerprint}; analysed cut {latest}"


def _mask_dictionaries(con) -> None:
    """The recorded dictionaries as the masked warehouse reads them: the allocation's choices are letters."""
    letters = [[letter, f"Arm {letter}"] for letter in BLINDED_ARMS]
    for dictionary_id, definition in warehouse.rows(con, "warehouse/dictionary_definitions"):
        fields = json.loads(definition)
        for f in fields:
            if f["name"] in ALLOCATION_FIELDS:
                f["choices"] = letters
        params = {
            "dictionary_id": dictionary_id,
            "definition": json.dumps(fields, sort_keys=True),
            "sha256": dictionary.sha256(fields),
        }
        con.execute(warehouse.sql("warehouse/update_dictionary_definition"), params)
