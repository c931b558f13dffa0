"""Under `make mutation` (docs/mutation.md) a changed function is tested by the tests of its own module only:
tests/unit mirrors the package, so a change to runback.flows.ingest.files meets tests/unit/flows/ingest/test_files.py
(and not every test that happens to run through it)."""

import os


def pytest_collection_modifyitems(config, items):
    module = os.environ.get("MUTANT_UNDER_TEST", "").rpartition(".")[0]  # runback.<folder>...<module>.<function>
    if not module.startswith("runback."):
        return
    *folders, name = module.split(".")[1:]
    own = "/".join(["tests", "unit", *folders, f"test_{name}.py"])
    others = [item for item in items if item.nodeid.partition("::")[0] != own]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if item.nodeid.partition("::")[0] == own]
