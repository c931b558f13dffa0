"""The SQL derivations run on an in-memory warehouse (`memory.py`) with a few rows put in."""

import pytest

from tests.unit.sql.analyse.memory import memory_warehouse


@pytest.fixture
def warehouse(study):
    con = memory_warehouse(study)
    yield con
    con.close()
