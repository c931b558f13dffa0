"""Rendering the follow-up report: the jinja2 environment with its number formats, and the
report's file name.

Templates are dumb (conventions): they get plain dicts and lists and format numbers with the
named filters below. The environment autoescapes and fails on any undefined name.
"""

from __future__ import annotations

import functools

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from runback.flows.errors import Refused
from runback.flows.settings import REPORTS_DIR


class ReportError(Refused):
    """A report that cannot be made as asked (unknown cut, missing key, ...)."""


# -- number formats used by the templates --
def num(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def signed(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:+.{digits}f}".replace("-", "−")


def pval(value) -> str:
    if value is None:
        return "–"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def css_string(value) -> Markup:
    """A CSS string literal of `value` (for the running header of the printed pages)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
    return Markup(f'"{text}"')


@functools.cache
def environment() -> Environment:
    """The templates' environment, one per process (templates compiled once); the compiled code
    is also kept between processes in Jinja's per-user bytecode cache (a private folder in the
    temporary directory, checked by Jinja to be the user's own), keyed by each template's source."""
    env = Environment(
        loader=FileSystemLoader(REPORTS_DIR),
        bytecode_cache=FileSystemBytecodeCache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=num, signed=signed, pval=pval, css_string=css_string)
    return env


def file_name(timepoint: str, cut: int, blinded: bool, audience: str = "closed") -> str:
    """`runback_<timepoint>_cut<id>_<audience>[_unblinded].html`."""
    return f"runback_{timepoint}_cut{cut}_{audience}{'' if blinded else '_unblinded'}.html"
