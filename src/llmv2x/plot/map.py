"""Panel 1: a map of the area with RSUs, vehicles and who serves whom.

Up to ``AGGREGATE_ABOVE`` vehicles, every vehicle is one marker (colour: its split alpha,
size: its tokens) joined to its serving RSU by a line, with its strongest other links drawn
faint. Past that, single markers only hide each other: the map shows the vehicle density
(hexagonal cells) and one circle per RSU sized by its load and coloured by its mean alpha.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.lines import Line2D

from llmv2x.instances.schema import Instance
from llmv2x.plot.breakdown import (
    VehicleBreakdown,
    allocation_of,
    association_of,
    binding,
    per_vehicle_limit,
    rsu_usage,
    vehicle_breakdown,
)
from llmv2x.plot.labels import OFFSETS_PT, place_labels

#: more vehicles than this and the map aggregates them (density and per-RSU circles)
AGGREGATE_ABOVE = 300
#: vehicles are numbered on the map up to this many (so the bars can be matched)
LABEL_VEHICLES_UP_TO = 30
ALPHA_CMAP = "viridis"
RSU_COLOUR = "#d62728"
LINK_COLOUR = "#444444"


def alpha_norm(instance: Instance) -> Normalize:
    """The colour scale of the split alpha, 1 .. Upsilon, shared by every panel."""
    return Normalize(vmin=1.0, vmax=float(instance.layers))


def candidate_links(instance: Instance, k: int = 3) -> np.ndarray:
    """(N, width) RSU indices of each vehicle's candidate RSUs, padded with -1.

    A dense instance (every vehicle-RSU pair a link) gives each vehicle's ``k`` strongest
    links; a sparse one gives all its links, strongest first (the generator already kept
    only the strongest few).
    """
    n = instance.n_vehicles
    if getattr(instance, "is_dense", True):
        k = max(0, min(k, instance.n_rsus))
        return np.argsort(-instance.channel_gain, axis=1)[:, :k]
    veh, rsu, gain = (np.asarray(c) for c in instance.links)
    order = np.lexsort((-gain, veh))  # by vehicle, strongest link first
    veh, rsu = veh[order], rsu[order]
    starts = np.searchsorted(veh, np.arange(n + 1))
    counts = np.diff(starts)
    width = int(counts.max()) if n else 0
    out = np.full((n, width), -1, int)
    out[veh, np.arange(len(veh)) - starts[veh]] = rsu
    return out


def _marker_sizes(tokens: np.ndarray, n: int) -> tuple[np.ndarray, float, float]:
    """Scatter sizes (points^2) growing with tokens; smaller ranges for crowded maps."""
    lo, hi = (45.0, 260.0) if n <= 40 else (14.0, 90.0)
    t0, t1 = float(tokens.min()), float(tokens.max())
    span = t1 - t0 if t1 > t0 else 1.0
    return lo + (tokens - t0) / span * (hi - lo), lo, hi


def _size_legend(tokens: np.ndarray, n: int) -> list[Line2D]:
    t0, t1 = int(tokens.min()), int(tokens.max())
    values = sorted({t0, int(round((t0 + t1) / 2)), t1})
    sizes, _, _ = _marker_sizes(np.asarray(values, float), n)
    if t0 == t1:
        sizes = _marker_sizes(tokens, n)[0][:1]
    return [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markersize=float(np.sqrt(s)),
            markerfacecolor="#bbbbbb",
            markeredgecolor="black",
            markeredgewidth=0.5,
            label=f"{v} tokens",
        )
        for v, s in zip(values, sizes, strict=False)
    ]


def _budgets_full(usage: Any) -> bool:
    """True when every serving RSU hands out all its bandwidth and frequency (within 1e-6)."""
    served = usage.vehicles > 0
    shares = np.concatenate([usage.bandwidth_share[served], usage.frequency_share[served]])
    return bool(np.all(np.abs(shares - 1.0) <= 1e-6))


def _rsu_label(m: int, usage: Any, shares: bool = True) -> str:
    k = int(usage.vehicles[m])
    if k == 0:
        return f"RSU {m}: idle"
    text = f"RSU {m} · {k} veh · {usage.layers[m]:.0f} layers"
    if shares:
        text += f"\nB {usage.bandwidth_share[m]:.0%}, F {usage.frequency_share[m]:.0%} used"
    return text


def _annotate_rsus(ax: Axes, instance: Instance, usage: Any, avoid_xy: np.ndarray) -> None:
    rx, ry = instance.rsu["x_m"], instance.rsu["y_m"]
    fontsize = 6.5 if instance.n_rsus > 10 else 7.5
    shares = not _budgets_full(usage)
    texts = [_rsu_label(m, usage, shares) for m in range(instance.n_rsus)]
    anchors = ax.transData.transform(np.column_stack([rx, ry]))
    avoid = ax.transData.transform(avoid_xy) if len(avoid_xy) else np.empty((0, 2))
    where = place_labels(ax, anchors, texts, fontsize, avoid)
    for m, (dx, dy, off) in enumerate(where):
        far = off > OFFSETS_PT[0]
        ax.annotate(
            texts[m],
            (rx[m], ry[m]),
            xytext=(off * dx, off * dy),
            textcoords="offset points",
            ha={1: "left", -1: "right", 0: "center"}[dx],
            va={1: "bottom", -1: "top", 0: "center"}[dy],
            fontsize=fontsize,
            multialignment="left",
            zorder=6,
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": RSU_COLOUR, "alpha": 0.85},
            arrowprops={"arrowstyle": "-", "color": RSU_COLOUR, "lw": 0.8} if far else None,
        )


def _frame(ax: Axes, instance: Instance) -> None:
    w, h = instance.area_m
    xs = np.concatenate([instance.vehicle["x_m"], instance.rsu["x_m"], [0.0, w]])
    ys = np.concatenate([instance.vehicle["y_m"], instance.rsu["y_m"], [0.0, h]])
    pad = 0.04 * max(w, h)
    ax.set_xlim(xs.min() - pad, xs.max() + pad)
    ax.set_ylim(ys.min() - pad, ys.max() + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")


def draw_map(
    ax: Axes,
    instance: Instance,
    result: Any,
    *,
    candidates: int = 3,
    deadlines: Any = None,
    energy_budgets: Any = None,
    aggregate_above: int = AGGREGATE_ABOVE,
    colorbar: bool = True,
) -> Axes:
    """Draw the map panel of ``result`` on ``instance`` into ``ax`` and return ``ax``.

    Parameters
    ----------
    candidates : how many of each vehicle's strongest links to draw faint (0: none).
    deadlines, energy_budgets : per-vehicle limits (default: the instance's ``deadline_s``
        and ``energy_budget_j`` if it has them); vehicles whose limit binds get a red ring.
    aggregate_above : past this many vehicles the map shows densities (module docstring).
    colorbar : add the colour bar of alpha beside ``ax``.
    """
    alloc = allocation_of(instance, result)
    assoc = association_of(instance, result)
    usage = rsu_usage(instance, alloc, assoc)
    bd = vehicle_breakdown(instance, alloc, assoc)
    norm = alpha_norm(instance)
    n = instance.n_vehicles
    vx, vy = instance.vehicle["x_m"], instance.vehicle["y_m"]
    rx, ry = instance.rsu["x_m"], instance.rsu["y_m"]
    _frame(ax, instance)
    handles: list[Any] = []
    if n > aggregate_above:
        mappable = _draw_aggregate(ax, instance, bd, usage, norm)
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                ms=12,
                mfc="#9ccc65",
                mec="black",
                mew=0.6,
                label="area: vehicles served, colour: mean α",
            )
        )
        title = f"map: {n} vehicles shown as density (more than {aggregate_above} vehicles)"
    else:
        if candidates > 0:
            cand = candidate_links(instance, candidates)
            segs = [
                ((vx[i], vy[i]), (rx[m], ry[m]))
                for i in range(n)
                for m in cand[i]
                if m >= 0 and m != assoc[i]
            ]
            ax.add_collection(
                LineCollection(
                    segs, colors="#9e9e9e", linewidths=0.6, linestyles=(0, (3, 3)), alpha=0.55
                )
            )
            handles.append(
                Line2D([], [], color="#9e9e9e", lw=0.8, ls=(0, (3, 3)), label="candidate link")
            )
        served = [((vx[i], vy[i]), (rx[assoc[i]], ry[assoc[i]])) for i in range(n)]
        ax.add_collection(
            LineCollection(served, colors=LINK_COLOUR, linewidths=1.1 if n <= 40 else 0.7)
        )
        handles.append(Line2D([], [], color=LINK_COLOUR, lw=1.1, label="serving RSU"))
        sizes, _, _ = _marker_sizes(instance.vehicle["tokens"].astype(float), n)
        mappable = ax.scatter(
            vx,
            vy,
            c=bd.alpha,
            s=sizes,
            cmap=ALPHA_CMAP,
            norm=norm,
            edgecolors="black",
            linewidths=0.5,
            zorder=4,
        )
        ring = binding(bd.completion_time, per_vehicle_limit(instance, "deadline_s", deadlines))
        ring |= binding(
            bd.own_energy, per_vehicle_limit(instance, "energy_budget_j", energy_budgets)
        )
        if ring.any():
            ax.scatter(
                vx[ring],
                vy[ring],
                s=sizes[ring] * 2.2,
                facecolors="none",
                edgecolors="red",
                linewidths=1.3,
                zorder=5,
            )
            handles.append(
                Line2D([], [], ls="", marker="o", ms=10, mfc="none", mec="red", label="limit binds")
            )
        if n <= LABEL_VEHICLES_UP_TO:
            for i in range(n):
                ax.annotate(
                    str(i),
                    (vx[i], vy[i]),
                    xytext=(0, -np.sqrt(sizes[i]) / 2 - 1),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize=6.5,
                    color="#333333",
                    zorder=5,
                )
        handles.extend(_size_legend(instance.vehicle["tokens"], n))
        title = f"map: {n} vehicles, {instance.n_rsus} RSUs"
    if _budgets_full(usage):
        title += "\nRSU: vehicles · offloaded layers (every RSU uses all its bandwidth, frequency)"
    else:
        title += "\nRSU: vehicles · offloaded layers · B, F: share of bandwidth, frequency used"
    ax.scatter(
        rx, ry, marker="^", s=170, c=RSU_COLOUR, edgecolors="white", linewidths=1.0, zorder=7
    )
    handles.insert(
        0, Line2D([], [], ls="", marker="^", ms=10, mfc=RSU_COLOUR, mec="white", label="RSU")
    )
    avoid = np.column_stack([vx, vy]) if n <= aggregate_above else np.empty((0, 2))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncol=len(handles) if len(handles) <= 6 else 4,
        fontsize=7.5,
        frameon=False,
        labelspacing=1.2,
        handletextpad=0.3,
        columnspacing=1.2,
    )
    ax.set_title(title, fontsize=9.5)
    if colorbar:
        cb = ax.figure.colorbar(mappable, ax=ax, shrink=0.85, pad=0.02)
        what = "mean α of the RSU's vehicles" if n > aggregate_above else "α"
        cb.set_label(f"{what}: layers run on the vehicle (of {instance.layers})")
        cb.set_ticks(
            sorted({1, *range(0, instance.layers + 1, max(1, instance.layers // 4))} - {0})
        )
    if ax.figure.get_layout_engine() is not None:
        ax.figure.draw_without_rendering()  # settle the layout: labels are placed in display units
    _annotate_rsus(ax, instance, usage, avoid)
    return ax


def _draw_aggregate(
    ax: Axes, instance: Instance, bd: VehicleBreakdown, usage: Any, norm: Normalize
) -> Any:
    """Density of vehicles plus one circle per RSU (area: its load, colour: its mean alpha)."""
    w, h = instance.area_m
    cells = ax.hexbin(
        instance.vehicle["x_m"],
        instance.vehicle["y_m"],
        gridsize=max(6, int(np.sqrt(instance.n_vehicles) / 2)),
        extent=(0.0, w, 0.0, h),
        cmap="Greys",
        mincnt=1,
        vmin=0,
        alpha=0.6,
        linewidths=0.2,
        zorder=1,
    )
    cb = ax.figure.colorbar(cells, ax=ax, shrink=0.85, pad=0.01)
    cb.set_label("vehicles per hexagonal cell")
    m = instance.n_rsus
    mean_alpha = np.bincount(bd.association, weights=bd.alpha, minlength=m) / np.maximum(
        usage.vehicles, 1
    )
    load = usage.vehicles
    sizes = 60.0 + 1400.0 * load / max(float(load.max()), 1.0)
    served = load > 0
    return ax.scatter(
        instance.rsu["x_m"][served],
        instance.rsu["y_m"][served],
        s=sizes[served],
        c=mean_alpha[served],
        cmap=ALPHA_CMAP,
        norm=norm,
        alpha=0.75,
        edgecolors="black",
        linewidths=0.6,
        zorder=3,
    )
