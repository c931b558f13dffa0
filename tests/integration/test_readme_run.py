"""The README's Run and Query sections, run as a script: every command of their ```sh blocks, in
order and as written, in an empty folder, each ending with the exit code the README gives it (0
unless its comment says `exit N`). A block that the README says may be run again is run twice in
a row, and the second run must leave the reports it wrote byte for byte as the first did."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SECTIONS = ("Run", "Query")


def section(name: str) -> str:
    """The text of a `## name` section, up to the next section of the same level."""
    return re.search(rf"^## {name}\n(.*?)(?=^## |\Z)", README, flags=re.M | re.S).group(1)


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """Each shell block with the paragraph just before it (what the README says of the block)."""
    found, paragraph, block, blank = [], "", None, True
    for line in text.splitlines():
        if block is not None and line.startswith("```"):
            found.append((paragraph, commands("\n".join(block))))
            block, paragraph = None, ""
        elif block is not None:
            block.append(line)
        elif re.fullmatch(r"```(?:sh|bash)\s*", line):
            block = []
        elif line.strip():
            paragraph = f"{'' if blank else paragraph} {line}".strip()
        blank = not line.strip()
    return found


def commands(block: str) -> list[str]:
    """The commands of a block: continued lines joined, blank and comment-only lines left out."""
    joined = re.sub(r"\\\n\s*", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def expected_exit(command: str) -> int:
    said = re.search(r"\s#\s*exit (\d+)\b", command)
    return int(said.group(1)) if said else 0


def may_run_again(paragraph: str) -> bool:
    return re.search(r"\brun again\b", paragraph, flags=re.I) is not None


def run(command: str, folder: Path, env: dict[str, str]) -> None:
    if command.startswith("export "):  # a setting the README tells the reader to make
        env.update(pair.split("=", 1) for pair in shlex.split(command, comments=True)[1:])
        return
    done = subprocess.run(
        ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == expected_exit(command), f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def reports(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.html"))}


def test_the_sections_hold_the_commands_a_newcomer_runs():
    run_blocks = blocks(section("Run"))
    assert len(run_blocks) >= 3 and all(lines for _, lines in run_blocks)
    assert run_blocks[0][1][0].split()[:2] == ["runback", "key"], "the key is made before any command needs one"
    assert any(may_run_again(paragraph) for paragraph, _ in run_blocks)


@pytest.mark.slow
@pytest.mark.browser  # the README prints a PDF with headless Chromium
def test_the_readme_runs_as_written(tmp_path):
    venv = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNBACK_") and k != "PREFECT_API_URL"}
    env["PATH"] = venv + os.pathsep + env.get("PATH", "")
    ran = 0
    for name in SECTIONS:
        for paragraph, lines in blocks(section(name)):
            for command in lines:
                run(command, tmp_path, env)
                ran += 1
            if may_run_again(paragraph):
                before = reports(tmp_path)
                for command in lines:
                    run(command, tmp_path, env)
                assert reports(tmp_path) == before, "a block the README says may run again changed its output"
    assert ran >= 15
    assert list(tmp_path.glob("out/*.html")) and (tmp_path / "data" / "runback.duckdb").exists()
