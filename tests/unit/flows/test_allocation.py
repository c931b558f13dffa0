"""The allocation key and the masking at intake (`flows/allocation.py`): the warehouse never holds an arm."""

import json
import stat
from pathlib import Path

import pyarrow as pa
import pytest

from runback.flows import allocation
from runback.flows.allocation import WITHHELD, Key, KeyError_
from runback.flows.warehouse import connect
from tests.helpers import ingest, randomised, write_export

LETTERS = {"LL": "C", "LE": "A", "LS": "B"}
SECRET = "5" * 32


def _write(path: Path, content: dict | str, mode: int = 0o600) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    path.chmod(mode)
    return path


def _key(tmp_path, letters=LETTERS, secret=SECRET, mode=0o600) -> Path:
    return _write(tmp_path / "allocation.key", {"arm_letters": letters, "secret": secret}, mode)


# -- masking ---------------------------------------------------------------------------------------
def test_each_allocation_code_becomes_its_letter_and_nothing_else_changes():
    key = Key(LETTERS, "f", Path("k"))
    table = pa.table({"record_id": ["1", "2", "3", "4"], "rand_group": ["1", "2", "3", " 2 "]})
    masked = allocation.mask(table, key)
    assert masked["rand_group"].to_pylist() == ["C", "A", "B", "A"]
    assert masked["record_id"].to_pylist() == ["1", "2", "3", "4"]
    assert masked.column_names == ["record_id", "rand_group"] and masked.schema == table.schema


def test_a_value_that_is_not_a_code_is_withheld_and_a_blank_stays_blank():
    key = Key(LETTERS, "f", Path("k"))
    table = pa.table({"rand_group": ["LS", "", None, "4", "Lumbar stabilisation"]})
    assert allocation.mask(table, key)["rand_group"].to_pylist() == [WITHHELD, "", None, WITHHELD, WITHHELD]


def test_masking_keeps_the_columns_type_even_with_no_value_given():
    key = Key(LETTERS, "f", Path("k"))
    nothing = pa.table({"rand_group": pa.array([None, None], pa.string())})
    assert allocation.mask(nothing, key).schema == nothing.schema
    large = pa.table({"rand_group": pa.array(["1", None], pa.large_string())})
    assert allocation.mask(large, key)["rand_group"].type == pa.large_string()


def test_an_export_without_the_allocation_is_left_as_it_is():
    table = pa.table({"record_id": ["1"], "nprs_run": ["1"]})
    assert allocation.mask(table, Key(LETTERS, "f", Path("k"))).equals(table)


def test_the_letters_follow_the_key():
    assert Key(LETTERS, "f", Path("k")).letter_of_code() == {"1": "C", "2": "A", "3": "B"}
    assert Key(LETTERS, "f", Path("k")).arm_of("B") == "LS"


@pytest.mark.parametrize(
    ("values", "holds"),
    [(["", ""], False), (["", "2"], True), (["3", ""], True)],
)
def test_an_export_holds_an_allocation_when_any_value_is_given(values, holds):
    assert allocation.holds_allocation(pa.table({"rand_group": values})) is holds


def test_an_export_without_the_field_holds_no_allocation():
    assert allocation.holds_allocation(pa.table({"nprs_run": ["1"]})) is False


# -- the key file ----------------------------------------------------------------------------------
def _refused(check, *args) -> str:
    """What a user reads when `check` refuses a key (it must)."""
    with pytest.raises(KeyError_) as refused:
        check(*args)
    return str(refused.value)


def _indented(path: Path) -> bool:
    """The key file is JSON as a person reads it (two-space indents, a final newline)."""
    text = path.read_text()
    return text == json.dumps(json.loads(text), indent=2) + "\n"


def test_a_new_key_is_a_private_permutation_that_reads_back_the_same(tmp_path):
    path = tmp_path / "keys" / "trial" / "allocation.key"
    made = allocation.new_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and _indented(path)
    assert sorted(made.letters) == ["LE", "LL", "LS"] and sorted(made.letters.values()) == ["A", "B", "C"]
    assert len(json.loads(path.read_text())["secret"]) == 64
    assert allocation.read_key(path) == made and len(made.fingerprint) == 16


def test_new_keys_are_drawn_at_random(tmp_path):
    permutations = {tuple(allocation.new_key(tmp_path / f"{i}.key").letters.values()) for i in range(40)}
    assert len(permutations) > 1  # one of six permutations 40 times over: a chance of 6 ** -39


def test_a_new_key_never_overwrites_one(tmp_path):
    path = _key(tmp_path)
    before = path.read_bytes()
    assert _refused(allocation.new_key, path) == (
        f"an allocation key already exists at {path}; it is kept (the letters must not change). "
        "Use it as it is; a new key is only for a new warehouse."
    )
    assert path.read_bytes() == before


def test_the_first_key_is_the_one_already_there(tmp_path):
    path = _key(tmp_path)
    assert allocation.first_key(path) == allocation.read_key(path)
    fresh = allocation.first_key(tmp_path / "other.key")
    assert fresh == allocation.read_key(tmp_path / "other.key")


def test_the_fingerprint_depends_on_the_letters_and_the_secret(tmp_path):
    one = allocation.read_key(_key(tmp_path))
    assert one.letters == LETTERS and one.path == tmp_path / "allocation.key"
    assert allocation.read_key(_key(tmp_path)).fingerprint == one.fingerprint
    assert allocation.read_key(_key(tmp_path, secret="6" * 32)).fingerprint != one.fingerprint
    swapped = {"LL": "A", "LE": "C", "LS": "B"}
    assert allocation.read_key(_key(tmp_path, letters=swapped)).fingerprint != one.fingerprint
    assert one.fingerprint == "28379e5ab1db5675"  # as warehouses recorded it: a key must keep its fingerprint


def test_a_missing_key_is_refused_without_making_one(tmp_path):
    assert _refused(allocation.read_key, tmp_path / "nothing.key") == (
        f"there is no allocation key at {tmp_path / 'nothing.key'}. Name the trial's key with --key or RUNBACK_KEY; "
        "a new key is made only by `runback key new` (or the very first ingest of a randomisation)."
    )
    assert not (tmp_path / "nothing.key").exists()


def test_an_unreadable_key_is_refused(tmp_path):
    path = _write(tmp_path / "allocation.key", "{not json")
    said = _refused(allocation.read_key, path)
    assert said.startswith(f"cannot read the allocation key {path}: Expecting property name")
    assert said.endswith(" Restore it from its backup.")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o610])
def test_a_key_others_can_reach_is_refused(tmp_path, mode):
    path = _key(tmp_path, mode=mode)
    assert _refused(allocation.read_key, path) == (
        f"the allocation key {path} can be read by other users (mode {mode:o}). Make it private: chmod 600 {path}"
    )


@pytest.mark.parametrize(
    "content",
    [
        ["LL", "LE", "LS"],
        {"arm_letters": ["A", "B", "C"], "secret": SECRET},
        {"arm_letters": {"LL": "A", "LE": "B"}, "secret": SECRET},
        {"arm_letters": {"LL": "A", "LE": "B", "XX": "C"}, "secret": SECRET},
        {"arm_letters": {"LL": "A", "LE": "A", "LS": "B"}, "secret": SECRET},
        {"arm_letters": {"LL": "A", "LE": "B", "LS": "D"}, "secret": SECRET},
    ],
    ids=["a-list", "letters-a-list", "an-arm-missing", "an-unknown-arm", "a-letter-twice", "an-unknown-letter"],
)
def test_a_key_that_is_not_a_permutation_is_refused(tmp_path, content):
    path = _write(tmp_path / "allocation.key", content)
    assert _refused(allocation.read_key, path) == (
        f"the allocation key {path} is not a permutation of A, B, C over the arms. Restore the trial's key from its "
        "backup."
    )


@pytest.mark.parametrize("secret", [None, 12345, "5" * 31])
def test_a_key_without_a_long_secret_is_refused(tmp_path, secret):
    path = _key(tmp_path, secret=secret)
    assert _refused(allocation.read_key, path) == (
        f"the allocation key {path} was made by an older runback (it has no secret, so its fingerprint could be "
        f"guessed). Upgrade it once with `runback key migrate --key {path}` (the letters stay the same)."
    )


def test_a_secret_of_32_characters_is_enough(tmp_path):
    assert allocation.read_key(_key(tmp_path, secret="5" * 32)).letters == LETTERS


def test_an_older_key_gets_a_secret_and_keeps_its_letters(tmp_path):
    path = _write(tmp_path / "allocation.key", {"arm_letters": LETTERS}, 0o600)
    upgraded = allocation.upgrade_key(path)
    assert upgraded.letters == LETTERS and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["arm_letters"] == LETTERS
    assert len(json.loads(path.read_text())["secret"]) == 64
    assert _indented(path)
    assert not (tmp_path / ".allocation.key.new").exists()
    assert allocation.upgrade_key(path) == upgraded  # a key with a secret stays as it is


def test_a_key_in_the_warehouses_folder_is_refused(tmp_path):
    (tmp_path / "keys").mkdir()
    allocation.check_location(tmp_path / "keys" / "a.key", tmp_path / "w.duckdb")
    inside = tmp_path / "keys" / ".." / "a.key"
    assert _refused(allocation.check_location, inside, tmp_path / "w.duckdb") == (
        f"the allocation key {inside} lies in the warehouse's folder. Keep it elsewhere (RUNBACK_KEY, default "
        "keys/allocation.key), away from blinded readers."
    )


def test_a_report_is_unblinded_only_with_the_warehouses_key(tmp_path, study):
    key = allocation.new_key(tmp_path / "keys" / "allocation.key")
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "w.duckdb"
    export = write_export(tmp_path, "RUNBACK_DATA_2014-02-01_0200.csv", study, [randomised("1")])
    ingest(export, db, key=key.path)
    assert allocation.warehouse_key(key.path, db) == key
    other = allocation.new_key(tmp_path / "keys" / "other.key")
    assert _refused(allocation.warehouse_key, other.path, db) == (
        f"the allocation key {other.path} (fingerprint {other.fingerprint}) is not the one the warehouse {db} was "
        f"blinded with ({key.fingerprint}). Name the trial's key."
    )
    with pytest.raises(KeyError_, match="lies in the warehouse's folder"):
        allocation.warehouse_key(tmp_path / "data" / "k.key", db)


def test_a_warehouse_without_a_key_yet_unblinds_nothing(tmp_path):
    key = allocation.new_key(tmp_path / "keys" / "allocation.key")
    (tmp_path / "data").mkdir()
    connect(tmp_path / "data" / "w.duckdb").close()
    assert _refused(allocation.warehouse_key, key.path, tmp_path / "data" / "w.duckdb") == (
        f"the allocation key {key.path} (fingerprint {key.fingerprint}) is not the one the warehouse "
        f"{tmp_path / 'data' / 'w.duckdb'} was blinded with (none yet). Name the trial's key."
    )
