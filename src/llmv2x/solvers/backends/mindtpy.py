"""MindtPy (Pyomo's outer approximation) with HiGHS for the MILPs and IPOPT for the NLPs.

Outer approximation is exact for *convex* MINLPs. P1 is not convex (alpha times a
reciprocal of a frequency, p over a logarithm), so MindtPy's linearisations can cut off
parts of the feasible set: its "lower bound" is not a valid bound and its "optimal" is a
local answer. This backend therefore reports ``converged`` at best and never a bound
(``llmv2x.solvers.status.MINDTPY``), whatever MindtPy's log says.

Time limit: MindtPy takes whole seconds, checks them only between its iterations, and
spends seconds of pure Python on a large P1 (cloning, reformulating, differentiating)
before its first check. So the call's wall-clock limit is enforced three ways: MindtPy's
own limit (whole seconds, rounded down), which MindtPy also gives its HiGHS and IPOPT
calls (whole seconds, at least one; IPOPT's counts CPU time), IPOPT stopped from its
iteration callback at the deadline, and, in the main thread, a SIGALRM timer that
interrupts MindtPy's Python code at the deadline, then every ``ALARM_REPEAT_S`` (a callback
of cyipopt swallows the first); the run then ends with status ``time_limit``, no point.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.backends.ipopt import SETUP_FIX, cyipopt_availability
from llmv2x.solvers.base import Availability, BackendOutcome, State, module_missing
from llmv2x.solvers.status import map_status, native_name


class MindtPyBackend:
    """MINLP role: MindtPy OA (mip_solver appsi_highs, nlp_solver cyipopt); a local method."""

    name = "mindtpy"
    kind = "minlp"
    description = "Pyomo MindtPy outer approximation (HiGHS + IPOPT); local on P1, no bound"
    status_key = "minlp:mindtpy"
    global_solver = False

    def available(self) -> Availability:
        """Needs Pyomo's MindtPy, highspy (MILP) and cyipopt with PyNumero's ASL (NLP)."""
        if module_missing("pyomo.contrib.mindtpy"):
            return Availability(State.NO, "Pyomo's MindtPy is missing", "pip install pyomo")
        if module_missing("highspy"):
            return Availability(State.NO, "highspy (its MILP solver) is not installed", SETUP_FIX)
        nlp = cyipopt_availability()
        if not nlp:
            return Availability(State.NO, f"its NLP solver is unusable: {nlp.reason}", nlp.fix)
        return Availability(State.YES)

    def version(self) -> str:
        """``mindtpy (pyomo X.Y.Z)``."""
        return f"mindtpy (pyomo {importlib.metadata.version('pyomo')})"

    def native_options(
        self, time_limit: float | None, gap: float | None, options: dict[str, Any] | None, tee: bool
    ) -> dict[str, Any]:
        """MindtPy's config: strategy OA, HiGHS and cyipopt, time limit, gap, quiet IPOPT."""
        out: dict[str, Any] = {
            "strategy": "OA",
            "mip_solver": "appsi_highs",
            "nlp_solver": "cyipopt",
            "nlp_solver_args": {"options": {"print_level": 0, "sb": "yes"}},
            "tee": tee,
        }
        if time_limit is not None:
            # whole seconds only; rounded down so MindtPy's own stop comes before the deadline
            out["time_limit"] = max(1, int(math.floor(time_limit)))
        if gap is not None:
            out["relative_bound_tolerance"] = float(gap)
        out.update(options or {})
        return out

    def solve(
        self,
        model: Any,
        time_limit: float | None,
        gap: float | None,
        options: dict[str, Any] | None = None,
        tee: bool = False,
    ) -> BackendOutcome:
        """Run MindtPy on ``model`` and load its best point; status at most ``converged``.

        Parameters
        ----------
        model : Pyomo MINLP.
        time_limit : seconds of wall clock for the whole call (see the module's docstring:
            MindtPy's own limit, IPOPT's callback and an alarm in the main thread).
        gap : MindtPy's ``relative_bound_tolerance`` (its own stopping test, not a proof).
        options : raw MindtPy config entries (e.g. ``{"heuristic_nonconvex": True}``).
        tee : show MindtPy's log.

        Returns
        -------
        BackendOutcome with ``bound`` always None.
        """
        import pyomo.environ as pyo

        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        stop_at = None if time_limit is None else time.perf_counter() + float(time_limit)
        kwargs = self.native_options(time_limit, gap, options, tee)
        if stop_at is not None and "nlp_solver_args" not in (options or {}):
            # Ipopt 3.11 limits CPU time only, which on a loaded machine is a fraction of
            # the wall clock: its iteration callback stops it at the deadline instead
            kwargs["nlp_solver_args"] = {
                **kwargs["nlp_solver_args"],
                "intermediate_callback": lambda *_: time.perf_counter() < stop_at,
            }
        pyomo_log = logging.getLogger("pyomo")
        level = pyomo_log.level
        # cyipopt logs the alarm as an error with its traceback when it lands in a callback
        numero_log = logging.getLogger("pyomo.contrib.pynumero")
        numero_level = numero_log.level
        if not tee:
            pyomo_log.setLevel(logging.ERROR)
            numero_log.setLevel(logging.CRITICAL)
        try:
            with warnings.catch_warnings(), _alarm_at(stop_at):
                warnings.simplefilter("ignore")
                res = pyo.SolverFactory("mindtpy").solve(model, **kwargs)
        except _Alarm:
            return _out_of_time("interrupted at the deadline")
        except Exception as exc:
            # MindtPy raises on a sub-solver stopped by the callback ("unable to handle
            # ... userInterrupt"): past the deadline, that is the time limit, not an error
            if stop_at is not None and time.perf_counter() >= stop_at:
                return _out_of_time(f"its sub-solver was stopped ({type(exc).__name__})")
            raise
        finally:
            pyomo_log.setLevel(level)
            numero_log.setLevel(numero_level)
        native = native_name(res.solver.termination_condition)
        upper = res.problem.upper_bound
        has_point = upper is not None and math.isfinite(float(upper))
        status = map_status(self.status_key, native, has_point=has_point)
        iterations = getattr(res.solver, "iterations", 0) or 0
        return BackendOutcome(
            status,
            has_point,
            bound=None,
            message=(
                f"MindtPy {native}; its own bound {_number(res.problem.lower_bound)} is not a "
                "valid bound on a nonconvex model and is not reported"
            ),
            native_status=native,
            iterations=int(iterations),
        )


def _out_of_time(how: str) -> BackendOutcome:
    """The outcome of a MindtPy run stopped by the deadline: no point, no bound."""
    return BackendOutcome(
        "time_limit",
        False,
        message=f"time limit reached inside MindtPy ({how})",
        native_status="maxTimeLimit",
    )


#: After the deadline the alarm repeats at this interval until MindtPy has unwound.
ALARM_REPEAT_S = 0.05


class _Alarm(BaseException):
    """Raised by the SIGALRM handler at the deadline; a BaseException so that MindtPy's
    ``except Exception`` clauses around sub-solver calls do not swallow it."""


@contextmanager
def _alarm_at(stop_at: float | None) -> Iterator[None]:
    """Raise ``_Alarm`` in the body at the ``time.perf_counter`` instant ``stop_at``.

    Only in the main thread of a Unix process whose SIGALRM has no handler of its own;
    otherwise the body runs without the alarm. A C call in progress (IPOPT, HiGHS) is not
    interrupted: the exception arrives when it returns.
    """
    usable = (
        stop_at is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    )
    if not usable:
        yield
        return
    armed = [True]

    def handler(_signum: int, _frame: Any) -> None:
        if armed[0]:
            raise _Alarm

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(stop_at - time.perf_counter(), 1e-3), ALARM_REPEAT_S)
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _number(x: Any) -> str:
    """A float for a message, ``none`` when missing."""
    try:
        return f"{float(x):.10g}"
    except (TypeError, ValueError):
        return "none"
