"""The whole picture of an allocation: map, time bars, energy bars and a title (docs/plotting.md).

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot state, no GUI), so
this works headless and in threads; ``save_figure`` writes PNG, PDF or SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from llmv2x.errors import LlmV2xError
from llmv2x.instances.schema import Instance
from llmv2x.plot.bars import draw_energy_bars, draw_time_bars
from llmv2x.plot.breakdown import allocation_of
from llmv2x.plot.map import AGGREGATE_ABOVE, draw_map

#: output formats ``save_figure`` writes, by file suffix
FORMATS = (".png", ".pdf", ".svg")


class PlotError(LlmV2xError):
    """A figure cannot be drawn or written as asked (unknown format, missing folder)."""


def title_text(instance: Instance, result: Any) -> str:
    """Instance, method, status, objective and (where known) the lower bound and the gap."""
    head = f"{instance.name}: {result.method}, {result.status}"
    obj = result.objective
    if obj is not None:
        head += f", objective {obj:.6g}"
    lb = getattr(result, "lower_bound", None)
    if lb is not None and math.isfinite(lb):
        head += f", lower bound {lb:.6g}"
        if obj is not None and obj != 0:
            head += f" (gap {max(0.0, (obj - lb) / abs(obj)):.2%})"
    else:
        head += ", no lower bound"
    extra = (
        f"{instance.n_vehicles} vehicles, {instance.n_rsus} RSUs, {instance.layers} layers; "
        f"objective {getattr(result, 'objective_variant', '?')}, "
        f"ω_t = {getattr(result, 'omega_t', float('nan')):g}"
    )
    return f"{head}\n{extra}"


def plot_result(
    instance: Instance,
    result: Any,
    ax: Axes | Sequence[Axes] | None = None,
    *,
    deadlines: Any = None,
    energy_budgets: Any = None,
    candidates: int = 3,
    scale: str = "auto",
    aggregate_above: int = AGGREGATE_ABOVE,
) -> Figure:
    """Draw ``result`` on ``instance`` and return the figure.

    Parameters
    ----------
    ax : None (a new figure with all three panels and a title), one Axes (the map only) or
        three Axes (map, completion-time bars, energy bars).
    deadlines, energy_budgets : per-vehicle limits in s and J (NaN or None: none); default:
        the instance's ``deadline_s`` and ``energy_budget_j`` if it has them.
    candidates : each vehicle's strongest other links drawn faint on the map.
    scale : ``auto``, ``linear`` or ``log`` for the bar panels.
    aggregate_above : past this many vehicles the map shows densities, not markers.

    Raises
    ------
    ResultError
        if the result carries no allocation or does not match the instance's size.
    """
    allocation_of(instance, result)  # refuse a result without a point before drawing
    if ax is None:
        fig = Figure(figsize=(16.0, 8.0), layout="constrained")
        grid = fig.add_gridspec(2, 2, width_ratios=(1.0, 1.3))
        axes = (
            fig.add_subplot(grid[:, 0]),
            fig.add_subplot(grid[0, 1]),
            fig.add_subplot(grid[1, 1]),
        )
        fig.suptitle(title_text(instance, result), fontsize=11)
    elif isinstance(ax, Axes):
        axes = (ax,)
    else:
        axes = tuple(ax)
        if len(axes) != 3:
            raise PlotError(f"ax: expected one Axes or three (map, time, energy), got {len(axes)}")
    if len(axes) == 3:
        draw_time_bars(axes[1], instance, result, deadlines=deadlines, scale=scale)
        draw_energy_bars(axes[2], instance, result, energy_budgets=energy_budgets, scale=scale)
    # the map last: its RSU labels are placed once the rest of the layout is settled
    draw_map(
        axes[0],
        instance,
        result,
        candidates=candidates,
        deadlines=deadlines,
        energy_budgets=energy_budgets,
        aggregate_above=aggregate_above,
    )
    return axes[0].figure


def save_figure(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Write ``fig`` as PNG, PDF or SVG, chosen by the suffix of ``path``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise PlotError(
            f"{path}: unknown figure format {suffix or '(none)'}; use .png, .pdf or .svg"
        )
    if not path.parent.exists():
        raise PlotError(f"{path}: folder {path.parent} does not exist")
    fig.savefig(path, dpi=dpi, format=suffix[1:])
    return path
