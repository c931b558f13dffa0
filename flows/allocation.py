"""The allocation key: which blinded letter (A, B, C) stands for which arm, and how the allocation
is masked at intake so that the warehouse never holds a participant's true arm.

The key is a JSON file kept outside the warehouse's folder (`RUNBACK_KEY`), created with mode 0600
from the start (`runback key new`, or by the first ingest that meets a randomisation) and refused
when others can read it. It holds the permutation and a random secret; its *fingerprint* (a hash
of both, which without the secret cannot be matched against the six possible permutations) is
recorded by the warehouse at first use, with every data cut and every report. A warehouse refuses
a key with another fingerprint, so a typo in `--key` can neither make a new key nor relabel a cut.

Masking: the randomisation field(s) (`schemas.trial.ALLOCATION_FIELDS`) are rewritten to their
letter in the Arrow table of the export, right after it is read and before anything is stored:
raw, clean, quarantine and every analysis table hold letters only.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from runback.flows.errors import Refused
from runback.schemas.arms import ALLOCATION_FIELDS, ARM_NAMES, ARM_ORDER, ARMS, BLINDED_ARMS

WITHHELD = "[withheld]"
"""What a masked allocation field holds when its value is not a code of the allocation (a typo
such as 'LS' would otherwise be stored in the quarantine as written)."""


class KeyError_(Refused):
    """An allocation key that cannot be used (missing, unreadable, not the warehouse's, exposed)."""


@dataclass(frozen=True)
class Key:
    """An allocation key: arm -> letter, and the fingerprint the warehouse knows it by."""

    letters: dict[str, str]  # arm code (LL) -> blinded letter (A)
    fingerprint: str
    path: Path

    def arm_of(self, letter: str) -> str:
        return {v: k for k, v in self.letters.items()}[letter]

    def letter_of_code(self) -> dict[str, str]:
        """rand_group code ('1') -> letter."""
        return {code: self.letters[arm] for code, arm in ARMS.items()}


def _fingerprint(letters: dict[str, str], secret: str) -> str:
    payload = json.dumps({"arm_letters": letters, "secret": secret}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def new_key(path: Path) -> Key:
    """Write a new random allocation key, readable by its owner only from the first byte; an
    existing key is never overwritten (the letters must not change)."""
    path = Path(path)
    letters_left = list(BLINDED_ARMS)
    permutation = [letters_left.pop(secrets.randbelow(len(letters_left))) for _ in BLINDED_ARMS]
    letters = dict(zip(ARM_ORDER, permutation, strict=True))
    secret = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyError_(
            f"an allocation key already exists at {path}; it is kept (the letters must not change).",
            "Use it as it is; a new key is only for a new warehouse.",
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps({"arm_letters": letters, "secret": secret}, indent=2) + "\n")
    return Key(letters, _fingerprint(letters, secret), path)


def first_key(path: Path) -> Key:
    """The key made for the first randomisation; if another process made it a moment ago, that one."""
    try:
        return new_key(path)
    except KeyError_:
        return read_key(path)


def read_key(path: Path) -> Key:
    """The key in a key file, refused when missing, malformed or readable by others."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeyError_(
            f"there is no allocation key at {path}.",
            "Name the trial's key with --key or RUNBACK_KEY; a new key is made only by "
            "`runback key new` (or the very first ingest of a randomisation).",
        ) from None
    except (OSError, ValueError) as err:
        raise KeyError_(f"cannot read the allocation key {path}: {err}", "Restore it from its backup.") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_(
            f"the allocation key {path} can be read by other users (mode {stat.S_IMODE(mode):o}).",
            f"Make it private: chmod 600 {path}",
        ) from None
    letters, secret = (data.get("arm_letters"), data.get("secret")) if isinstance(data, dict) else (None, None)
    if (
        not isinstance(letters, dict)
        or sorted(letters) != sorted(ARM_NAMES)
        or sorted(letters.values()) != sorted(BLINDED_ARMS)
    ):
        raise KeyError_(
            f"the allocation key {path} is not a permutation of {', '.join(BLINDED_ARMS)} over the arms.",
            "Restore the trial's key from its backup.",
        )
    if not isinstance(secret, str) or len(secret) < 32:
        raise KeyError_(
            f"the allocation key {path} was made by an older runback (it has no secret, so its "
            "fingerprint could be guessed).",
            f"Upgrade it once with `runback key migrate --key {path}` (the letters stay the same).",
        )
    return Key(dict(letters), _fingerprint(letters, secret), path)


def upgrade_key(path: Path) -> Key:
    """Give a key file of an older runback (a permutation without a secret) its secret, in place and
    privately; the letters stay. A key that has one already is returned as it is."""
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("secret"), str):
        return read_key(path)
    data["secret"] = secrets.token_hex(32)
    tmp = path.with_name(f".{path.name}.new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)
    return read_key(path)


def check_location(key_path: Path, db: Path) -> None:
    """Refuse a key kept in the warehouse's own folder: whoever is given the warehouse's folder
    (a statistician, a backup) must not get the key with it."""
    if Path(key_path).resolve().parent == Path(db).resolve().parent:
        raise KeyError_(
            f"the allocation key {key_path} lies in the warehouse's folder.",
            "Keep it elsewhere (RUNBACK_KEY, default keys/allocation.key), away from blinded readers.",
        )


def mask(table: pa.Table, key: Key) -> pa.Table:
    """The export with every allocation field's code replaced by its blinded letter (blank stays
    blank; any other value is withheld, since it may name an arm)."""
    codes = key.letter_of_code()
    for name in ALLOCATION_FIELDS:
        if name not in table.column_names:
            continue
        values = table[name].to_pylist()
        masked = [v if v in ("", None) else codes.get(v.strip(), WITHHELD) for v in values]
        table = table.set_column(table.column_names.index(name), name, pa.array(masked, table[name].type))
    return table


def holds_allocation(table: pa.Table) -> bool:
    """Whether an export carries any allocation value (then it needs the key)."""
    return any(
        name in table.column_names and pc.any(pc.not_equal(pc.utf8_length(table[name]), 0)).as_py()
        for name in ALLOCATION_FIELDS
    )


# -- the key and the warehouse ------------------------------------------------------------------------
def warehouse_key(key_path: Path, db: Path) -> Key:
    """The key at `key_path`, if it is the one the warehouse `db` was blinded with (else refused)."""
    from runback.flows.warehouse import connect_read_only, rows

    check_location(key_path, db)
    key = read_key(key_path)
    with connect_read_only(Path(db)) as con:
        (recorded,) = rows(con, "ingest/key_fingerprint")[0]
    if recorded != key.fingerprint:
        raise KeyError_(
            f"the allocation key {key_path} (fingerprint {key.fingerprint}) is not the one the warehouse "
            f"{db} was blinded with ({recorded or 'none yet'}).",
            "Name the trial's key.",
        )
    return key


def log_unblinding(db: Path, what: str, key: Key, target: str, data_cut: int | None = None) -> None:
    """Record an unblinded output in meta.unblinding; raises (and nothing is written) if it cannot."""
    from runback.flows.warehouse import connect, sql

    with connect(Path(db)) as con:
        params = {"what": what, "data_cut": data_cut, "target": target, "key_fingerprint": key.fingerprint}
        con.execute(sql("query/insert_unblinding"), params)


def mask_warehouse(db: Path, key_path: Path) -> str:
    """Mask the allocation of a warehouse made before it was masked at intake, with its key: every
    stored allocation value becomes its letter (raw, clean, quarantine), the recorded dictionaries
    say so, the analysis (which held the arms) is cleared, the key's fingerprint is recorded, and
    the newest cut is analysed again. Logged in meta.unblinding; one transaction."""
    import pandas as pd

    from runback.flows import warehouse
    from runback.flows.analyse.refresh import analysable, refresh_analysis
    from runback.flows.analyse.tables import TABLES
    from runback.flows.ingest.project import load_project

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
        (latest,) = warehouse.rows(con, "report/latest_cut")[0]
        study = load_project()
        if latest is not None and analysable(study):
            refresh_analysis(con, study, latest)
    finally:
        con.close()
    return f"masked the allocation of {db} with the key of fingerprint {key.fingerprint}; analysed cut {latest}"


def _mask_dictionaries(con) -> None:
    """The recorded dictionaries as the masked warehouse reads them: the allocation's choices are letters."""
    from runback.flows import warehouse
    from runback.flows.ingest import dictionary

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
