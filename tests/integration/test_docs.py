"""The README is the front door: it names every command, setting and warehouse table."""

import re
from pathlib import Path

from typer.main import get_command

from runback.flows.cli import app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_quickstart_is_the_two_commands():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    assert re.findall(r"^make \w+$", quickstart, flags=re.M) == ["make demo", "make test"]


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
    for schema, table in re.findall(r"create table (?:if not exists )?(meta|quarantine|analysis)\.(\w+)", migrations):
        assert f"{schema}.{table}" in README + (ROOT / "docs" / "analysis.md").read_text(), f"{schema}.{table}"


def test_ci_runs_the_readmes_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_prefect_yaml_schedules_the_default_cron_and_time_zone():
    from runback.flows.settings import DEFAULT_CRON, DEFAULT_TIMEZONE

    text = (ROOT / "prefect.yaml").read_text()
    assert f'cron: "{DEFAULT_CRON}"' in text and f"timezone: {DEFAULT_TIMEZONE}" in text
    assert DEFAULT_CRON in README and DEFAULT_TIMEZONE in README
