"""Charts of the follow-up reports (matplotlib), as SVG with a text alternative (kept_charts.py
keeps a blinded report's charts, and makes them the page's `data:` images).

Arms are told apart by colour (Okabe-Ito, readable by colour-blind readers), line style and
marker, so a chart still reads in grey print. Every text of a chart is at the report's body size:
the page shows a chart at its own size (never enlarged; shrunk a little on a phone), where a point
of the SVG is 1.33 CSS px, so 11 pt is the body's 15 px; a chart is at most `WIDTH` inches wide, so
that a phone shrinks it little. Output is byte-stable: a fixed SVG hash salt, no
date in the metadata, fonts as text.
"""

from __future__ import annotations

import io

from matplotlib import rc_context
from matplotlib.figure import Figure

STYLES = [  # per arm in display order: colour, line style, marker
    ("#0072B2", "-", "o"),
    ("#D55E00", "--", "s"),
    ("#009E73", ":", "^"),
]
WIDTH = 4.2
"""A chart's width in inches (about 400 CSS px: a phone's column, in which its text stays near body size)."""
RC = {
    "svg.hashsalt": "runback",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 11,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _figure(width: float, height: float):
    """A figure and its axes, outside pyplot (no global figure state, and a quicker import)."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    return buffer.getvalue()


def change_over_visits(table: dict, arms: list[dict]) -> dict:
    """Mean change from baseline with its 95% CI, per arm, over the visits of one parameter."""
    with rc_context(RC):
        fig, ax = _figure(WIDTH, 3.2)
        described = []
        rows = table["rows"]
        steps = [r["step"] for r in rows]
        for i, arm in enumerate(arms):
            colour, line, marker = STYLES[i]
            xs, ys, lo, hi = [], [], [], []
            for r in rows:
                cell = r["arms"][i]
                if cell is None:
                    continue
                if r["step"] == 0:
                    xs.append(0), ys.append(0.0), lo.append(0.0), hi.append(0.0)
                elif cell.get("chg_mean") is not None:
                    mean = cell["chg_mean"]
                    low, high = (cell[k] if cell[k] is not None else mean for k in ("chg_ci_low", "chg_ci_high"))
                    xs.append(r["step"]), ys.append(mean), lo.append(mean - low), hi.append(high - mean)
            offset = (i - 1) * 0.06
            ax.errorbar(
                [x + offset for x in xs],
                ys,
                yerr=[lo, hi],
                color=colour,
                linestyle=line,
                marker=marker,
                markersize=4,
                capsize=2,
                linewidth=1.4,
                label=arm["short"],
            )
            if ys:
                described.append(f"{arm['short']} {ys[-1]:+.2f} at {rows[-1]['visit'].split(' (')[0].lower()}")
        ax.axhline(0, color="#888888", linewidth=0.6)
        ax.set_xticks(steps, [r["visit"].split(" (")[0].replace(" ", "\n") for r in rows])
        ax.set_ylabel(f"Change ({table['unit']})")
        ax.set_title(table["label"], loc="left")
        ax.legend(frameon=False, ncols=1, loc="best")
        svg = _svg(fig)
    direction = "higher is better" if table["better"] == "higher" else "lower is better"
    alt = (
        f"{table['label']}: mean change from baseline with 95% confidence intervals by arm over the visits "
        f"({direction}). Last visit: " + "; ".join(described) + "."
    )
    return {"svg": svg, "alt": alt}


def forest(contrasts: list[dict]) -> dict | None:
    """Between-arm differences of the primary outcomes (the primary analysis: MMRM, ITT) with their 95% CIs."""
    items = [
        (f"{c['label']}\n{p['pair']}", p)
        for c in contrasts
        if c["role"] == "primary"
        for p in c["pairs"]
        if p.get("estimate") is not None
    ]
    if not items:
        return None
    with rc_context(RC):
        fig, ax = _figure(WIDTH - 1.8, 0.55 * len(items) + 0.9)  # the labels take the rest of the width
        for y, (_, p) in enumerate(reversed(items)):
            ax.plot([p["ci_low"], p["ci_high"]], [y, y], color="#333333", linewidth=1.2)
            ax.plot([p["estimate"]], [y], marker="s", color="#0072B2", markersize=5)
        ax.axvline(0, color="#888888", linewidth=0.8, linestyle="--")
        ax.set_yticks(range(len(items)), [label for label, _ in reversed(items)])
        ax.set_xlabel("Difference (points), 95% CI")
        svg = _svg(fig)
    alt = (
        "Forest plot of between-arm differences in the primary outcomes (MMRM, ITT): "
        + "; ".join(
            f"{label.replace(chr(10), ': ')} {p['estimate']:+.2f} ({p['ci_low']:+.2f} to {p['ci_high']:+.2f})"
            for label, p in items
        )
        + "."
    )
    return {"svg": svg, "alt": alt}


def recruitment(conduct: dict) -> dict | None:
    """Participants randomised, cumulative by month, against the target (one line: pooled)."""
    rows = conduct["recruitment"]
    if not rows:
        return None
    with rc_context(RC):
        fig, ax = _figure(WIDTH, 2.8)
        xs = list(range(len(rows)))
        ax.step(
            xs,
            [r["randomised_total"] for r in rows],
            where="post",
            color=STYLES[0][0],
            linewidth=1.6,
            label="Randomised",
        )
        target = conduct["target"]
        ax.axhline(target, color="#888888", linestyle="--", linewidth=1, label=f"Target ({target})")
        every = max(1, -(-len(rows) // 4))  # four labels at most, at body size
        ax.set_xticks(xs[::every], [r["month"] for r in rows][::every])
        ax.set_ylabel("Participants")
        ax.set_title("Recruitment", loc="left")
        ax.legend(frameon=False, loc="best")
        svg = _svg(fig)
    alt = (
        f"Participants randomised, cumulative by month from {rows[0]['month']} to {rows[-1]['month']}: "
        f"{conduct['randomised']} of a target of {conduct['target']}."
    )
    return {"svg": svg, "alt": alt}
