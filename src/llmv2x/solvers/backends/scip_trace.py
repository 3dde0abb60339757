"""SCIP's incumbent and dual bound over time, recorded by a pyscipopt event handler.

``record_scip_trace`` is a context manager: every SCIP model that Pyomo's ``scip_direct``
builds while it is open gets an event handler that, on each new best solution
(``BESTSOLFOUND``), each improvement of the global dual bound (``DUALBOUNDIMPROVED``) and
each solved node (``NODESOLVED``), appends ``(time_s, lower_bound, objective)`` whenever one
of the two values changed (by more than ``rtol`` relative). ``time_s`` is wall-clock
seconds since the context was entered (so it counts the model's build and translation, as a
method's own trace does); SCIP's infinity becomes ``inf``. The values are SCIP's own, on the
model it was given (the method ``minlp`` verifies and may later lower or drop the final
bound, see docs/minlp.md); the trace shows how they moved, not what was certified.

Used by ``benchmarks/bounds.py`` for the bound-over-time plot (docs/benchmarks.md); the
solve itself is unchanged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: SCIP reports values at or beyond this magnitude for "no bound" / "no solution".
SCIP_INFINITY = 1e19


def _finite(value: float) -> float:
    """``value`` with SCIP's infinity as ``math.inf`` (sign kept)."""
    value = float(value)
    return math.copysign(math.inf, value) if abs(value) >= SCIP_INFINITY else value


def _moved(old: float, new: float, rtol: float) -> bool:
    if math.isinf(old) or math.isinf(new):
        return old != new
    return abs(new - old) > rtol * max(abs(old), abs(new), 1e-300)


@dataclass
class ScipTrace:
    """The points recorded so far: ``rows`` of ``(time_s, lower_bound, objective)``."""

    rtol: float = 0.0
    t0: float = field(default_factory=time.perf_counter)
    rows: list[tuple[float, float, float]] = field(default_factory=list)

    def record(self, lower: float, objective: float) -> None:
        """Append the current values when either moved by more than ``rtol`` (relative)
        from the last row."""
        lower, objective = _finite(lower), _finite(objective)
        last = self.rows[-1] if self.rows else None
        if last and not (
            _moved(last[1], lower, self.rtol) or _moved(last[2], objective, self.rtol)
        ):
            return
        self.rows.append((time.perf_counter() - self.t0, lower, objective))

    def frame(self) -> Any:
        """The rows as a pandas DataFrame with columns time_s, lower_bound, objective."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["time_s", "lower_bound", "objective"])


def _handler(trace: ScipTrace) -> Any:
    """A pyscipopt event handler that records into ``trace``."""
    from pyscipopt import SCIP_EVENTTYPE, Eventhdlr

    events = (
        SCIP_EVENTTYPE.BESTSOLFOUND,
        SCIP_EVENTTYPE.DUALBOUNDIMPROVED,
        SCIP_EVENTTYPE.NODESOLVED,
    )

    class _Recorder(Eventhdlr):
        def eventinitsol(self) -> None:
            for ev in events:
                self.model.catchEvent(ev, self)

        def eventexitsol(self) -> None:
            # SCIP refuses getDualbound in this stage: the last event's values are the end
            for ev in events:
                self.model.dropEvent(ev, self)

        def eventexec(self, event: Any) -> dict[str, Any]:
            self._record()
            return {}

        def _record(self) -> None:
            trace.record(self.model.getDualbound(), self.model.getPrimalbound())

    return _Recorder()


@contextmanager
def record_scip_trace(rtol: float = 0.0) -> Iterator[ScipTrace]:
    """Record the bounds of every ``scip_direct`` solve made inside the ``with`` block.

    Yields the ``ScipTrace`` being filled (a row whenever a value moved by more than
    ``rtol``, relative; 0: any change). The hook wraps
    ``ScipDirect._create_solver_model`` for the duration of the block and is removed on exit.
    """
    from pyomo.contrib.solver.solvers.scip.scip_direct import ScipDirect

    trace = ScipTrace(rtol=rtol)
    original = ScipDirect._create_solver_model

    def create_and_watch(self: Any, model: Any, config: Any) -> Any:
        out = original(self, model, config)
        out[0].includeEventhdlr(_handler(trace), "llmv2x_trace", "bounds over time")
        return out

    ScipDirect._create_solver_model = create_and_watch
    try:
        yield trace
    finally:
        ScipDirect._create_solver_model = original
