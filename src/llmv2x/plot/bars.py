"""Panels 2 and 3: per-vehicle stacked bars of completion time and of energy.

Each bar is split into the vehicle's layers, the transmission and the RSU's layers. When
one part dwarfs the others (transmission often takes more than 99 % of the time), the
``auto`` scale switches to a logarithmic axis; the time bars then stack the largest part
on top, so every part keeps a visible segment (the energy bars keep the order vehicle,
transmission, RSU: an energy budget bounds the first two, whose sum stays a bar edge).
The panel title gives each part's share.
Per-vehicle limits (deadline, energy budget) are drawn as black ticks; where one binds, a
red triangle marks the bar.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from llmv2x.errors import LlmV2xError
from llmv2x.instances.schema import Instance
from llmv2x.plot.breakdown import (
    VehicleBreakdown,
    allocation_of,
    association_of,
    binding,
    per_vehicle_limit,
    vehicle_breakdown,
)
from llmv2x.plot.map import AGGREGATE_ABOVE

PART_COLOURS = {"vehicle layers": "#4c72b0", "transmission": "#dd8452", "RSU layers": "#55a868"}
#: under ``auto``, a log axis when the smallest non-zero part is below this share of the total
LOG_BELOW_SHARE = 0.03
#: every vehicle gets its own tick label up to this many vehicles
TICK_EVERY_VEHICLE_UP_TO = 40
SCALES = ("auto", "linear", "log")


def _scale(parts: dict[str, np.ndarray], scale: str) -> str:
    if scale not in SCALES:
        raise LlmV2xError(f"scale: {scale!r} is not one of {', '.join(SCALES)}")
    if scale != "auto":
        return scale
    sums = np.array([float(np.sum(v)) for v in parts.values()])
    total = float(sums.sum())
    nonzero = sums[sums > 0]
    return "log" if total > 0 and nonzero.min() / total < LOG_BELOW_SHARE else "linear"


def _stacked(
    ax: Axes,
    parts: dict[str, np.ndarray],
    *,
    scale: str,
    limit: np.ndarray | None,
    limited: np.ndarray,
    limit_label: str,
    what: str,
    unit: str,
    order: np.ndarray,
    keep_order: bool = False,
) -> Axes:
    """Stacked bars of ``parts`` (in vehicle order ``order``), the limits and binding marks."""
    n = order.size
    x = np.arange(n)
    scale = _scale(parts, scale)
    names = list(parts)
    if (
        scale == "log" and not keep_order
    ):  # the largest part on top, so every part keeps a visible segment
        largest = max(names, key=lambda k: float(np.sum(parts[k])))
        names = [k for k in names if k != largest] + [largest]
    bottom = np.zeros(n)
    width = 0.8 if n <= TICK_EVERY_VEHICLE_UP_TO else 1.0
    for name in names:
        h = parts[name][order]
        ax.bar(
            x,
            h,
            bottom=bottom,
            width=width,
            color=PART_COLOURS[name],
            label=name,
            linewidth=0.3 if n <= TICK_EVERY_VEHICLE_UP_TO else 0.0,
            edgecolor="white",
        )
        bottom = bottom + h
    if limit is not None:
        lim = limit[order]
        has = np.isfinite(lim)
        ax.scatter(
            x[has],
            lim[has],
            marker="_",
            s=220 if n <= 40 else 40,
            c="black",
            lw=1.6,
            zorder=4,
            label=limit_label,
        )
        hit = binding(limited[order], lim)
        if hit.any():
            top = bottom[hit] * (1.35 if scale == "log" else 1.0)
            ax.scatter(
                x[hit],
                top,
                marker="v",
                s=40 if n <= 40 else 14,
                c="red",
                zorder=5,
                label=f"{limit_label} binds",
            )
    total = sum(float(np.sum(v)) for v in parts.values())
    shares = ", ".join(f"{k} {_share(float(np.sum(parts[k])), total)}" for k in parts)
    ax.set_title(f"{what} per vehicle: {shares}", fontsize=9.5)
    ax.set_yscale(scale)
    if scale == "log":
        positive = np.concatenate([parts[k][parts[k] > 0] for k in parts])
        if positive.size:
            ax.set_ylim(bottom=float(positive.min()) / 3.0)
        ax.set_ylabel(f"{what} ({unit}, log scale)")
    else:
        ax.set_ylabel(f"{what} ({unit})")
    ax.set_xlim(-0.7, n - 0.3)
    if n <= TICK_EVERY_VEHICLE_UP_TO:
        ax.set_xticks(x, [str(i) for i in order], fontsize=7 if n > 20 else 8)
        ax.set_xlabel("vehicle")
    elif n > AGGREGATE_ABOVE:
        ax.set_xlabel(f"{n} vehicles, sorted by {what}")
    else:
        ax.set_xlabel("vehicle")
    ax.grid(axis="y", alpha=0.3, which="major")
    ax.set_axisbelow(True)
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.005, 1.0), frameon=False)
    return ax


def _share(part: float, total: float) -> str:
    if total <= 0:
        return "–"
    share = part / total
    return "< 0.1%" if 0 < share < 0.001 else f"{share:.1%}"


def _order(values: np.ndarray, sort: bool | None) -> np.ndarray:
    if sort is None:
        sort = values.size > AGGREGATE_ABOVE
    return np.argsort(values, kind="stable") if sort else np.arange(values.size)


def breakdown_of(instance: Instance, result: Any) -> VehicleBreakdown:
    """The per-vehicle breakdown of ``result`` on ``instance`` (its association if it has one)."""
    return vehicle_breakdown(
        instance, allocation_of(instance, result), association_of(instance, result)
    )


def draw_time_bars(
    ax: Axes,
    instance: Instance,
    result: Any,
    *,
    deadlines: Any = None,
    scale: str = "auto",
    sort: bool | None = None,
) -> Axes:
    """Stacked bars of each vehicle's completion time: its layers, transmission, RSU layers.

    ``deadlines`` (default: the instance's ``deadline_s`` if any) are drawn as ticks and
    marked where they bind. ``scale`` is ``auto``, ``linear`` or ``log`` (module docstring);
    ``sort`` orders the bars by completion time (default: past ``AGGREGATE_ABOVE`` vehicles).
    """
    bd = breakdown_of(instance, result)
    parts = {
        "vehicle layers": bd.time_vehicle,
        "transmission": bd.time_transmit,
        "RSU layers": bd.time_rsu,
    }
    return _stacked(
        ax,
        parts,
        scale=scale,
        limit=per_vehicle_limit(instance, "deadline_s", deadlines),
        limited=bd.completion_time,
        limit_label="deadline",
        what="completion time",
        unit="s",
        order=_order(bd.completion_time, sort),
    )


def draw_energy_bars(
    ax: Axes,
    instance: Instance,
    result: Any,
    *,
    energy_budgets: Any = None,
    scale: str = "auto",
    sort: bool | None = None,
) -> Axes:
    """Stacked bars of the energy of each vehicle's request: its layers, transmission, RSU layers.

    An energy budget (``energy_budgets`` or the instance's ``energy_budget_j``) bounds the
    vehicle's own energy, its layers plus transmission; it binds where that reaches it.
    """
    bd = breakdown_of(instance, result)
    parts = {
        "vehicle layers": bd.energy_vehicle,
        "transmission": bd.energy_transmit,
        "RSU layers": bd.energy_rsu,
    }
    return _stacked(
        ax,
        parts,
        scale=scale,
        limit=per_vehicle_limit(instance, "energy_budget_j", energy_budgets),
        limited=bd.own_energy,
        limit_label="energy budget",
        what="energy",
        unit="J",
        order=_order(bd.total_energy, sort),
        keep_order=True,  # the budget bounds the first two parts: their sum must be a bar edge
    )
