"""Greedy placement of map labels so they hide neither each other nor the RSUs.

Each label tries eight directions around its anchor at three distances; the box of each try
is estimated in display units from the font size and scored by what it covers. Call it once
the figure layout is settled (``Figure.draw_without_rendering``), as ``draw_map`` does.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

#: label positions tried around an RSU: (dx, dy) direction of the offset, and its length (pt)
_DIRECTIONS = ((1, 1), (-1, 1), (1, -1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
OFFSETS_PT = (11.0, 30.0, 55.0)


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def _box(x: float, y: float, dx: int, dy: int, off: float, w: float, h: float) -> tuple[float, ...]:
    x0 = x + off if dx > 0 else (x - off - w if dx < 0 else x - w / 2)
    y0 = y + off if dy > 0 else (y - off - h if dy < 0 else y - h / 2)
    return (x0, y0, x0 + w, y0 + h)


def place_labels(
    ax: Axes, anchors: np.ndarray, texts: list[str], fontsize: float, avoid: np.ndarray
) -> list[tuple[int, int, float]]:
    """Greedy label placement: for each anchor the (direction, offset) whose box overlaps least.

    Boxes are estimated in display units from the font size; ``avoid`` are display points
    (vehicles) a label should not hide; covering an RSU costs ten times more, another label
    a hundred times more, and a far offset (drawn with a leader line) a little.
    Longest labels choose first.
    """
    ax.apply_aspect()
    px = ax.figure.dpi / 72.0
    frame = tuple(ax.bbox.extents)
    placed: list[tuple[float, ...]] = []
    chosen: list[tuple[int, int, float]] = [(1, 1, OFFSETS_PT[0])] * len(texts)
    for i in sorted(range(len(texts)), key=lambda j: -len(texts[j])):
        lines = texts[i].split("\n")
        w = (0.56 * fontsize * max(len(s) for s in lines) + 8) * px
        h = (1.25 * fontsize * len(lines) + 6) * px
        x, y = anchors[i]
        best, best_score = chosen[i], float("inf")
        for k, off_pt in enumerate(OFFSETS_PT):
            for dx, dy in _DIRECTIONS:
                box = _box(x, y, dx, dy, off_pt * px, w, h)
                score = 0.6 * k + sum(_overlap(box, p) for p in placed) / (w * h) * 100.0
                for pts, margin, weight in ((avoid, 4.0 * px, 1.0), (anchors, 9.0 * px, 10.0)):
                    inside = (pts[:, 0] > box[0] - margin) & (pts[:, 0] < box[2] + margin)
                    inside &= (pts[:, 1] > box[1] - margin) & (pts[:, 1] < box[3] + margin)
                    score += weight * float(np.sum(inside))
                score += (w * h - _overlap(box, frame)) / (w * h) * 200.0
                if score < best_score:
                    best, best_score = (dx, dy, off_pt), score
        placed.append(_box(x, y, best[0], best[1], best[2] * px, w, h))
        chosen[i] = best
    return chosen
