"""The circular's charts as SVG (text drawn as paths, so they need no font where they are shown).

matplotlib's object API only (a `Figure` per chart, no pyplot state), so charts can be drawn
from the scheduler's threads. matplotlib is imported when the first chart is drawn: the API's
workers and the CLI import this module but seldom draw, and the import costs a second.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .fonts import matplotlib_family
from .kpis import DepartmentKpis

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH = 6.3  # inches: the text width of an A4 page with the circular's margins
INK, ACCENT, MUTED, GRID = "#333333", "#b5161e", "#b9b9b9", "#e4e4e4"
TYPE_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#9c755f", "#bab0ac"]


def _style() -> dict:
    return {"font.family": matplotlib_family(), "font.size": 8.5, "axes.edgecolor": MUTED, "axes.labelcolor": INK,
            "xtick.color": INK, "ytick.color": INK, "axes.spines.top": False, "axes.spines.right": False,
            "svg.hashsalt": "minyi", "svg.fonttype": "path"}


@contextmanager
def _figure(height: float) -> Iterator[Figure]:
    """A page-wide figure drawn in the circular's style."""
    import matplotlib

    matplotlib.use("Agg")  # never a GUI backend, whatever the environment says
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_style()):
        yield Figure(figsize=(WIDTH, height))


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buffer.getvalue()


def on_time_by_department(departments: Sequence[DepartmentKpis], city: DepartmentKpis) -> str:
    """Horizontal bars of the on-time completion rate, best on top; 样本不足 where too few."""
    rows = sorted(departments, key=lambda d: (d.on_time_completion.value is not None, d.on_time_completion.value or 0))
    with _figure(0.32 * len(rows) + 0.9) as figure:
        axes = figure.subplots()
        for y, kpis in enumerate(rows):
            rate = kpis.on_time_completion
            if rate.sufficient:
                axes.barh(y, rate.value * 100, color=ACCENT if rate.value < (city.on_time_completion.value or 0)
                          else "#4e79a7", height=0.6)
                axes.text(rate.value * 100 + 1, y, f"{rate.value:.1%}", va="center", fontsize=7.5, color=INK)
            else:
                axes.text(1, y, "样本不足", va="center", fontsize=7.5, color=MUTED)
        if city.on_time_completion.sufficient:
            axes.axvline(city.on_time_completion.value * 100, color=INK, linestyle="--", linewidth=0.8)
            axes.text(city.on_time_completion.value * 100 + 1, len(rows) - 0.45, f"全市 {city.on_time_completion.value:.1%}",
                      fontsize=7.5, ha="left", color=INK)
        axes.set_yticks(range(len(rows)), [d.department_name for d in rows])
        axes.set_xlim(0, 110)
        axes.set_xticks(range(0, 101, 20), [f"{x}%" for x in range(0, 101, 20)])
        axes.xaxis.grid(True, color=GRID)
        axes.set_axisbelow(True)
        return _svg(figure)


def weekly_volume(week_labels: Sequence[str], series: dict[str, list[int]]) -> str:
    """Stacked bars of the petitions received each week, by type."""
    with _figure(2.05) as figure:
        axes = figure.subplots()
        bottom = [0] * len(week_labels)
        for colour, (label, counts) in zip(TYPE_COLOURS, series.items()):
            if any(counts):
                axes.bar(range(len(week_labels)), counts, bottom=bottom, label=label, color=colour, width=0.7)
                bottom = [b + c for b, c in zip(bottom, counts)]
        axes.set_xticks(range(len(week_labels)), week_labels, fontsize=7.5)
        axes.set_ylabel("件数")
        axes.yaxis.grid(True, color=GRID)
        axes.set_axisbelow(True)
        if any(bottom):
            axes.legend(ncols=min(len(series), 6), frameon=False, loc="upper center", bbox_to_anchor=(0.5, 1.16))
        return _svg(figure)


def late_trend(week_labels: Sequence[str], late: Sequence[int]) -> str:
    """A line of the petitions received each week and not completed on time."""
    with _figure(2.2) as figure:
        axes = figure.subplots()
        axes.plot(range(len(week_labels)), late, color=ACCENT, marker="o", markersize=3.5, linewidth=1.4)
        for x, value in enumerate(late):
            if value:
                axes.annotate(str(value), (x, value), textcoords="offset points", xytext=(0, 5), ha="center",
                              fontsize=7, color=INK)
        axes.set_xticks(range(len(week_labels)), week_labels, fontsize=7.5)
        axes.set_ylim(0, max(max(late, default=0) * 1.25, 1))
        axes.set_ylabel("逾期件数")
        axes.yaxis.grid(True, color=GRID)
        axes.set_axisbelow(True)
        return _svg(figure)
