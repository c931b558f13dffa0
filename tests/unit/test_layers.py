"""Stages in order: no module imports from a stage that builds on it (docs/architecture.md, Layout).

Every import in the package counts, also one inside a function or under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"flows": "runback.flows", "schemas": "runback.schemas", "sql": "runback.sql", "reports": "runback.reports"}

BELOW = {
    "definitions": set(),
    "shared": {"definitions"},
    "ingest": {"definitions", "shared"},
    "analyse": {"definitions", "shared", "ingest"},
    "report": {"definitions", "shared", "ingest", "analyse"},
    "query": {"definitions", "shared", "ingest", "analyse", "report"},
    "simulate": {"definitions", "shared", "ingest"},
    "commands": {"definitions", "shared", "ingest", "analyse", "report", "query", "simulate"},
}
"""Each stage and the stages it may read. The trial's definitions (schemas/, sql/, reports/) come
first; then the helpers every stage reads (settings, errors, the warehouse door, content hashes,
the which-cut helper, the spreadsheet-safe CSV cell, the allocation key, where outputs live); then ingest < analyse <
report; query reads what all of them wrote; simulate stands apart (it writes exports, reading the
trial's project as ingest does); the commands (CLI, flows, deployments) stand on all."""

SHARED = {"settings", "errors", "warehouse", "progress", "hashing", "cuts", "spreadsheet", "allocation", "outputs"}
"""The modules at the top of flows/ that every stage may read; the others there are commands."""


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under `root`: dotted name -> file."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            found[".".join((package, *parts))] = path
    return found


def stage(module: str) -> str:
    """The stage a module belongs to, from where it lives."""
    parts = module.split(".")
    if parts[1] != "flows":
        return "definitions"
    if len(parts) == 2:
        return "shared"
    if parts[2] in BELOW:
        return parts[2]
    return "shared" if parts[2] in SHARED else "commands"


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that `module` imports anywhere in its file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            named |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names}
    return {name for name in named if name in known}


def backward_imports(root: Path) -> list[str]:
    """Every import that runs back up, as 'importer (stage) imports imported (stage)'."""
    known = modules(root)
    found = []
    for module, path in known.items():
        for imported in sorted(imports(module, path, known)):
            if stage(imported) != stage(module) and stage(imported) not in BELOW[stage(module)]:
                found.append(f"{module} ({stage(module)}) imports {imported} ({stage(imported)})")
    return found


def test_no_module_imports_from_a_stage_that_builds_on_it():
    assert backward_imports(ROOT) == []


def test_the_package_has_modules_in_every_stage():
    assert set(BELOW) == {stage(module) for module in modules(ROOT)}


def test_an_import_inside_a_function_that_runs_back_up_is_named(tmp_path):
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
    for sub in ("ingest", "query"):
        (tmp_path / "flows" / sub).mkdir()
        (tmp_path / "flows" / sub / "__init__.py").write_text("")
    (tmp_path / "flows" / "query" / "export.py").write_text("from ..ingest import load\n")
    (tmp_path / "flows" / "ingest" / "load.py").write_text(
        "def listing():\n    from runback.flows.query import export\n"
    )
    assert backward_imports(tmp_path) == [
        "runback.flows.ingest.load (ingest) imports runback.flows.query.export (query)"
    ]
