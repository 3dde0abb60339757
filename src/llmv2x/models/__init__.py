"""The system model written once: physics, NumPy evaluator, Pyomo builders.

Submodules: ``physics`` (eqs. (1)-(10)), ``evaluate`` (NumPy evaluator), ``p1`` (P1, eq. (10)),
``subproblem1`` (eq. (11)), ``subproblem2`` (eqs. (40)-(46)). Names below load lazily so that
``llmv2x.instances`` can use ``physics`` without importing Pyomo.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Allocation": "llmv2x.models.allocation",
    "Evaluation": "llmv2x.models.evaluator",
    "evaluate": "llmv2x.models.evaluator",
    "build_p1": "llmv2x.models.p1",
    "allocation_from_model": "llmv2x.models.p1",
    "build_subproblem1": "llmv2x.models.subproblem1",
    "build_subproblem2_epigraph": "llmv2x.models.subproblem2",
    "build_subproblem2_parametric": "llmv2x.models.subproblem2",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
