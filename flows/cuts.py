"""Which data cut: the one answer the CLI, the flows and every stage ask for (the newest cut, the
analysed cuts, whether cut N exists or is analysed), with one refusal for a cut that does not exist
and one for a cut not analysed. A cut is analysed when its participants are in the analysis."""

from __future__ import annotations

from dataclasses import dataclass

from runback.flows.errors import Refused
from runback.flows.warehouse import rows


@dataclass(frozen=True)
class Cuts:
    """The data cuts of a warehouse, oldest first, and those of them that are analysed."""

    ids: tuple[int, ...]
    analysed: tuple[int, ...]

    @property
    def latest(self) -> int | None:
        """The newest cut (None in a warehouse without one)."""
        return self.ids[-1] if self.ids else None

    @property
    def unanalysed(self) -> tuple[int, ...]:
        """The cuts loaded but not analysed, oldest first (tonight's, or one a lost run left)."""
        return tuple(c for c in self.ids if c not in self.analysed)

    def is_analysed(self, cut: int) -> bool:
        return cut in self.analysed

    def chosen(self, cut: int | None = None) -> int:
        """The cut asked for, or the newest; refused when the warehouse has none, or not that one."""
        if not self.ids:
            raise Refused("the warehouse has no data cut yet.", "Run `runback ingest` first.")
        if cut is None:
            return self.ids[-1]
        if int(cut) not in self.ids:
            raise Refused(
                f"there is no data cut {cut} (the cuts are {self.ids[0]} to {self.ids[-1]}).",
                "Name one of them with --data-cut.",
            )
        return int(cut)

    def chosen_analysed(self, cut: int) -> int:
        """A cut that exists and is analysed; refused otherwise."""
        cut = self.chosen(cut)
        if not self.is_analysed(cut):
            analysed = ", ".join(map(str, self.analysed)) or "none"
            raise Refused(
                f"data cut {cut} has not been analysed (analysed: {analysed}).",
                f"Report on it first: `runback report --data-cut {cut}` analyses it.",
            )
        return cut


def cuts(con) -> Cuts:
    """The data cuts of the warehouse `con` is connected to."""
    found = rows(con, "warehouse/cuts")
    return Cuts(tuple(int(c) for c, _ in found), tuple(int(c) for c, analysed in found if analysed))
