"""Names and defaults of the studies, importable without pandas, SciPy or matplotlib.

The command line builds its help text from these (``llmv2x --help`` stays fast); the sweep,
the figures and ``llmv2x reproduce`` read them from here too, so there is one source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmv2x.errors import SettingsError

#: the paper's sweep of the weight of time (Figures 1 and 2)
OMEGA_T_GRID: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

#: sweep-level method variants: table name -> (method of ``llmv2x solve``, its options).
#: ``ao`` is AO with its default ``improved`` recipe (vertex rounding); ``ao-paper`` is AO
#: with the paper's plain recipe (nearest rounding), see docs/algorithms.md.
METHOD_VARIANTS: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "ao-paper": ("ao", (("recipe", "paper"),)),
}

#: the paper's method under both recipes, and its two baselines (section IV-B)
PAPER_METHODS: tuple[str, ...] = ("ao", "ao-paper", "rlor", "rrlo")

#: scenario draws per set of ``llmv2x reproduce``
DEFAULT_SEEDS = 20
#: output folder of ``llmv2x reproduce``
DEFAULT_OUTPUT = "out/reproduce"


@dataclass(frozen=True)
class FigureSet:
    """One reproduction set: the objective variant and the scenario overrides."""

    name: str
    objective: str
    label: str
    scenario: dict[str, Any] = field(default_factory=dict)


SETS: dict[str, FigureSet] = {
    s.name: s
    for s in (
        FigureSet("paper", "paper", "objective (10), noise −134 dBm/Hz"),
        FigureSet("latency", "latency", "latency variant, noise −134 dBm/Hz"),
        FigureSet(
            "noise174",
            "paper",
            "objective (10), noise −174 dBm/Hz",
            {"noise_dbm_per_hz": -174.0},
        ),
    )
}


def parse_sets(text: str | Sequence[str]) -> list[str]:
    """Set names from ``"paper,latency"`` or a list; SettingsError naming the choices."""
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    names = [s for s in names if s]
    bad = [s for s in names if s not in SETS]
    if bad or not names:
        raise SettingsError(f"sets: {', '.join(bad) or 'none given'} not among {', '.join(SETS)}")
    return list(dict.fromkeys(names))


__all__ = [
    "DEFAULT_OUTPUT",
    "DEFAULT_SEEDS",
    "METHOD_VARIANTS",
    "OMEGA_T_GRID",
    "PAPER_METHODS",
    "SETS",
    "FigureSet",
    "parse_sets",
]
