"""The statistical analysis plan as a document: `schemas/plan.py` rendered to HTML (and PDF), with
its version and the hash of its content, and a sign-off table, so that it can be signed before
the data are unblinded. It holds no data."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from markdown import markdown
from markupsafe import Markup

from runback.flows.outputs import placed, public_mode
from runback.flows.report.context import TITLE
from runback.flows.report.pdf import pdf_of
from runback.flows.report.render import environment
from runback.schemas import plan


def plan_html() -> str:
    """The plan's page (the same bytes for the same plan and runback version)."""
    body = Markup(markdown(plan.markdown(), extensions=["tables"]))  # noqa: S704 - our own plan's Markdown
    return (
        environment()
        .get_template("plan.html.j2")
        .render(
            title=TITLE,
            version=plan.VERSION,
            fingerprint=plan.fingerprint(),
            runback_version=version("runback"),
            body=body,
        )
    )


def write_plan(folder: Path, pdf: bool = False) -> list[Path]:
    """The plan written to `folder` as `runback_plan_<version>_<sha256>.html` (and its PDF)."""
    path = Path(folder) / f"runback_plan_{plan.VERSION}_{plan.fingerprint()}.html"
    with placed(path, plan_html().encode("utf-8"), public_mode()):
        pass
    return [path, pdf_of(path)] if pdf else [path]
