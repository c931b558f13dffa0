"""The README is the front door: short, in the order a newcomer needs it, naming every command,
setting and folder; the documents it links to exist and hold the warehouse's tables."""

import re
import shlex
from pathlib import Path

from typer.core import TyperGroup
from typer.main import get_command

from runback.flows.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_readme_is_a_front_door():
    assert len(README.splitlines()) <= 250
    sections = re.findall(r"^## (.+)$", README, flags=re.M)
    wanted = ["Quickstart", "Run", "Schedule", "Query", "Layout"]
    assert [s for s in sections if s in wanted] == wanted


def test_every_link_opens_a_file_and_heading_that_exist():
    for page in [ROOT / "README.md", *DOCS]:
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            linked = page.parent / target if target else page
            assert linked.exists(), f"{page.name} links to {target}"
            if anchor:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(), flags=re.M)
                slugs = {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}
                assert anchor in slugs, f"{page.name} links to {target}#{anchor}"


def test_every_document_is_linked_from_the_readme():
    for page in DOCS:
        assert f"(docs/{page.name})" in README, page.name


def test_the_layout_names_every_folder():
    layout = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"tests"}
    tests = {f"tests/{p.name}" for p in (ROOT / "tests").iterdir() if (p / "__init__.py").exists()}
    for folder in sorted(packages | tests | {"bench", "docs"}):
        assert re.search(rf"^{re.escape(folder)}/", layout, flags=re.M), folder


def test_every_command_is_documented():
    commands = get_command(app).commands
    assert set(commands) >= {"simulate", "ingest", "report", "query", "export", "status", "key", "serve", "demo"}
    for name in commands:
        assert f"runback {name}" in README, name


def test_every_setting_is_documented():
    sources = "".join(p.read_text() for p in (ROOT / "flows").rglob("*.py"))
    read = re.findall(r'(?:environ(?:\.get)?\(|environ\[|_path\(|_number\()\s*"(RUNBACK_[A-Z_]+)"', sources)
    assert len(set(read)) >= 8
    for variable in sorted(set(read)):
        assert variable in README, variable


def test_every_warehouse_table_is_documented():
    migrations = "".join(p.read_text() for p in (ROOT / "sql" / "warehouse" / "migrations").glob("*.sql"))
    assert "create table" in migrations
    made = re.findall(r"create table (?:if not exists )?(meta|quarantine|analysis)\.(\w+)", migrations)
    dropped = set(re.findall(r"drop table (?:if exists )?(meta|quarantine|analysis)\.(\w+)", migrations))
    dropped |= set(re.findall(r"alter table (meta|quarantine|analysis)\.(\w+) rename to", migrations))
    for schema, table in set(made) - dropped:  # a table a later migration drops is no longer there
        assert f"{schema}.{table}" in _read("warehouse.md", "analysis.md"), f"{schema}.{table}"


def _read(*names: str) -> str:
    return "".join((ROOT / "docs" / name).read_text() for name in names)


def test_ci_runs_the_readmes_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_prefect_yaml_schedules_the_default_cron_and_time_zone():
    from runback.flows.settings import DEFAULT_CRON, DEFAULT_TIMEZONE

    text = (ROOT / "prefect.yaml").read_text()
    assert f'cron: "{DEFAULT_CRON}"' in text and f"timezone: {DEFAULT_TIMEZONE}" in text
    assert DEFAULT_CRON in README and DEFAULT_TIMEZONE in README


def test_every_runback_command_in_the_readme_parses():
    lines = [
        line
        for block in re.findall(r"^```(?:sh|bash)\n(.*?)^```", README, flags=re.M | re.S)
        for line in block.splitlines()
    ]
    commands = [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("runback ")]
    assert len(commands) >= 15
    for words in commands:
        command = get_command(app)
        while isinstance(command, TyperGroup):  # runback key new: a command of a group
            name, *words = words
            command = command.commands[name]
        command.make_context(name, words)  # a wrong option, choice or missing value fails here
