"""MindtPy (Pyomo's outer approximation) with HiGHS for the MILPs and IPOPT for the NLPs.

Outer approximation is exact for *convex* MINLPs. P1 is not convex (alpha times a
reciprocal of a frequency, p over a logarithm), so MindtPy's linearisations can cut off
parts of the feasible set: its "lower bound" is not a valid bound and its "optimal" is a
local answer. This backend therefore reports ``converged`` at best and never a bound
(``llmv2x.solvers.status.MINDTPY``), whatever MindtPy's log says.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import warnings
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
            out["time_limit"] = max(1, int(math.ceil(time_limit)))
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
        time_limit : seconds (MindtPy's ``time_limit``, whole seconds, checked between
            iterations: a single NLP or MILP call can overrun it).
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
        kwargs = self.native_options(time_limit, gap, options, tee)
        pyomo_log = logging.getLogger("pyomo")
        level = pyomo_log.level
        if not tee:
            pyomo_log.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = pyo.SolverFactory("mindtpy").solve(model, **kwargs)
        finally:
            pyomo_log.setLevel(level)
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


def _number(x: Any) -> str:
    """A float for a message, ``none`` when missing."""
    try:
        return f"{float(x):.10g}"
    except (TypeError, ValueError):
        return "none"
