"""The PDF of a report, printed by headless Chromium (Debian: `chromium`)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from runback.flows.report.render import ReportError

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def pdf_of(html_path: Path) -> Path:
    """Print the HTML report at `html_path` to a PDF beside it; returns the PDF's path."""
    browser = next((b for b in CHROMIUM if shutil.which(b)), None)
    if browser is None:
        raise ReportError("--pdf needs Chromium (Debian: apt install chromium)")
    pdf = Path(html_path).with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                f"--print-to-pdf={pdf}",
                Path(html_path).resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return pdf
