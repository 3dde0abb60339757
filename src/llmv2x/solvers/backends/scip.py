"""SCIP through pyscipopt and Pyomo's ``scip_direct``: the core MINLP backend (global).

SCIP runs a spatial branch and bound, so its dual bound is a proven lower bound on the
model it was given and its "optimal" (gap closed) is a global optimum. Two practical notes:

* SCIP's log can fill the pipe of a captured stdout and block the process past its time
  limit, so SCIP's display level is 0 (``display/verblevel``) unless the user asks for the
  log (``verbose``);
* SCIP treats coefficients below its epsilon (1e-9) as zero. A model whose expressions
  carry factors such as sigma^2 * 1e6 = 4e-11 (the plain P1) can be presolved wrongly:
  SCIP has been seen to declare such a P1 infeasible, or "optimal" with a bound above a
  known feasible point. The method ``minlp`` checks both claims (docs/minlp.md);
* SCIP's points may sit a hair outside bounds (p = 0.09999999 W against p_min = 0.1 W):
  the caller projects them back before evaluating.

``contrib_outcome`` turns a ``pyomo.contrib.solver`` Results into a
``llmv2x.solvers.base.BackendOutcome``; the Gurobi MINLP backend shares it.
"""

from __future__ import annotations

import importlib.metadata
import math
from typing import Any

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.base import Availability, BackendOutcome, State, module_missing
from llmv2x.solvers.status import minlp_status, native_name


class ScipBackend:
    """MINLP role: SCIP's spatial branch and bound (``scip_direct``), a global solver."""

    name = "scip"
    kind = "minlp"
    description = "SCIP global MINLP through pyscipopt (Pyomo scip_direct)"
    status_key = "minlp:scip"
    global_solver = True

    def available(self) -> Availability:
        """Available when pyscipopt can be imported (it ships SCIP in its wheel)."""
        if module_missing("pyscipopt"):
            return Availability(State.NO, "pyscipopt is not installed", "pip install llmv2x[scip]")
        if module_missing("pyomo.contrib.solver.solvers.scip"):
            return Availability(
                State.NO, "this Pyomo has no scip_direct interface", "pip install 'pyomo>=6.9.5'"
            )
        return Availability(State.YES)

    def version(self) -> str:
        """``scip X.Y (pyscipopt A.B.C)``."""
        import pyscipopt

        wrapper = importlib.metadata.version("pyscipopt")
        return f"scip {pyscipopt.Model().version()} (pyscipopt {wrapper})"

    def native_options(self, options: dict[str, Any] | None, tee: bool) -> dict[str, Any]:
        """SCIP parameters: display level 0 unless ``tee``, no components presolve, then the
        user's raw parameters (which win).

        SCIP's components presolver solves every independent block to optimality in a
        sub-SCIP before the search; on the strong P1 (a radio block per vehicle) it took 3-6 s
        of a 4-vehicle instance that then solved in 0.3 s (docs/minlp.md).
        """
        out: dict[str, Any] = {
            "display/verblevel": 4 if tee else 0,
            "constraints/components/maxprerounds": 0,
        }
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
        """Solve a MINLP with SCIP and load the incumbent into ``model``.

        Parameters
        ----------
        model : Pyomo model (integer variables, nonlinear expressions).
        time_limit : seconds (SCIP ``limits/time``).
        gap : relative gap (SCIP ``limits/gap``).
        options : raw SCIP parameters such as ``{"limits/nodes": 1000}``.
        tee : show SCIP's log (otherwise ``display/verblevel`` is 0).

        Returns
        -------
        BackendOutcome with SCIP's dual bound; ``optimal`` only with the gap closed.
        """
        from pyomo.contrib.solver.common.factory import SolverFactory

        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        res = SolverFactory("scip_direct").solve(
            model,
            tee=tee,
            time_limit=time_limit,
            rel_gap=gap,
            solver_options=self.native_options(options, tee),
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
        )
        return contrib_outcome(self.status_key, res)


def contrib_outcome(key: str, res: Any) -> BackendOutcome:
    """Load the incumbent of a ``pyomo.contrib.solver`` Results and map its status.

    Parameters
    ----------
    key : the backend's status-map key ("minlp:scip", "minlp:gurobi").
    res : the Results of ``SolverFactory(...).solve(..., load_solutions=False)``.

    The bound is kept only when finite; ``optimal`` needs the gap closed
    (``llmv2x.solvers.status.minlp_status``).
    """
    native = native_name(res.termination_condition)
    has_point = native_name(res.solution_status) in ("feasible", "optimal")
    if has_point:
        res.solution_loader.load_vars()
    bound = res.objective_bound
    bound = float(bound) if bound is not None and math.isfinite(bound) else None
    incumbent = res.incumbent_objective
    status = minlp_status(key, native, has_point=has_point, incumbent=incumbent, bound=bound)
    nodes = 0
    for attr in ("NNodes", "NodeCount"):
        value = getattr(res.extra_info, attr, None)
        if value is not None:
            nodes = int(value)
    return BackendOutcome(
        status,
        has_point,
        bound=bound,
        message=f"{native}: incumbent {incumbent}, bound {bound}",
        native_status=native,
        iterations=nodes,
    )
