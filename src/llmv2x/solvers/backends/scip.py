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
import time
from typing import Any

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.base import Availability, BackendOutcome, State, module_missing
from llmv2x.solvers.deadline import MIN_BACKEND_S
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
        time_limit : seconds of wall clock for the whole call, counted from its start:
            SCIP's ``limits/time`` is set, once the model has been handed to SCIP, to what
            is left of it (SCIP's own clock does not count the model's translation).
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
        solver = SolverFactory("scip_direct")
        if time_limit is not None:
            _arm_after_translation(solver, time.perf_counter() + float(time_limit))
        try:
            res = solver.solve(
                model,
                tee=tee,
                time_limit=time_limit,
                rel_gap=gap,
                solver_options=self.native_options(options, tee),
                load_solutions=False,
                raise_exception_on_nonoptimal_result=False,
            )
        except _OutOfTime:
            return BackendOutcome(
                "time_limit",
                False,
                message="time limit reached before SCIP could start its search (the model's "
                "translation, plus SCIP's first presolve round, needed more than was left)",
                native_status="maxTimeLimit",
            )
        return contrib_outcome(self.status_key, res)


#: SCIP's first presolve round cannot be interrupted; on P1 (its nonlinear objective split
#: into one constraint per vehicle) it took 1.3-2.8 times as long as translating the model
#: (instances/large.json). A call with less time left than this many translations is not
#: started: SCIP would overrun the limit and still return no point.
SETUP_PER_TRANSLATION = 2.0


class _OutOfTime(Exception):
    """The call's time ran out while its model was being translated for SCIP."""


def _arm_after_translation(solver: Any, stop_at: float) -> None:
    """Bound a Pyomo ``scip_direct`` call by the wall-clock instant ``stop_at``.

    Translating a large P1 for SCIP takes seconds (its objective alone is a 70k-node
    expression), all in Python: the translation checks the clock at every expression node
    and gives up (``_OutOfTime``) past ``stop_at``; once it is done, SCIP's time limit is
    set to what is left (``scip_direct.solve`` reads ``config.time_limit`` after
    ``_create_solver_model``), or SCIP is not started at all when what is left is less than
    ``SETUP_PER_TRANSLATION`` translations. Without those hooks (another Pyomo version) the
    limit given stays SCIP's alone.
    """
    create = getattr(solver, "_create_solver_model", None)
    visitor = getattr(solver, "_expr_visitor", None)
    if create is None:  # pragma: no cover - depends on the Pyomo version
        return
    exit_node = getattr(visitor, "exitNode", None)
    if exit_node is not None:

        def exit_node_in_time(node: Any, data: Any) -> Any:
            if time.perf_counter() >= stop_at:
                raise _OutOfTime
            return exit_node(node, data)

        visitor.exitNode = exit_node_in_time

    def create_then_arm(model: Any, config: Any) -> Any:
        t = time.perf_counter()
        out = create(model, config)
        now = time.perf_counter()
        if stop_at - now < SETUP_PER_TRANSLATION * (now - t):
            raise _OutOfTime
        config.time_limit = max(stop_at - now, MIN_BACKEND_S)
        return out

    solver._create_solver_model = create_then_arm


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
