"""The six result statuses, and every backend's native codes mapped onto them in one table.

docs/result-format.md allows six statuses. Only a backend that *proves* global optimality may say
``optimal``: SCIP and Gurobi (and the AMPL global solvers Couenne and BARON) when they stop
with the gap closed. Every other backend -- IPOPT (local NLP), MindtPy (outer approximation,
a local method on a nonconvex problem), Bonmin, Knitro -- reports at most ``converged``
(its own optimality test passed at a local point) or ``feasible``, whatever its log says.

Native codes are the names of Pyomo's termination conditions:
``pyomo.contrib.solver.common.results.TerminationCondition`` for the ``scip_direct`` and
``gurobi_direct_minlp`` interfaces, ``pyomo.opt.TerminationCondition`` for the older
interfaces (``cyipopt``, ``ipopt``, ``mindtpy``, AMPL solvers). QP backends map onto the QP
outcome vocabulary of ``llmv2x.solvers.qp`` (``optimal`` means "KKT point of a convex
QP", which is the QP's global optimum), not onto the result statuses.
"""

from __future__ import annotations

import math

from llmv2x.solvers.backends.highs import STATUS_MAP as HIGHS_QP_STATUS

#: Result statuses (docs/result-format.md), strongest claim first.
STATUSES = ("optimal", "converged", "feasible", "time_limit", "infeasible", "error")

#: Relative gap below which a global solver's bound and incumbent count as equal ("closed").
GAP_CLOSED = 1e-6

# ----- MINLP role -------------------------------------------------------------------------

#: Global solvers through pyomo.contrib.solver (scip_direct, gurobi_direct_minlp).
#: ``optimal`` is further conditioned on the gap being closed (see ``minlp_status``).
GLOBAL_CONTRIB = {
    "convergenceCriteriaSatisfied": "optimal",
    "maxTimeLimit": "time_limit",
    "iterationLimit": "time_limit",
    "objectiveLimit": "feasible",
    "minStepLength": "error",
    "unbounded": "error",
    "provenInfeasible": "infeasible",
    "locallyInfeasible": "error",
    "infeasibleOrUnbounded": "infeasible",
    "error": "error",
    "interrupted": "time_limit",
    "licensingProblems": "error",
    "emptyModel": "error",
    "unknown": "error",
}

#: MindtPy (outer approximation with HiGHS + IPOPT): a local method on P1, so its
#: "optimal" is ``converged`` and its "infeasible" proves nothing (``error``).
MINDTPY = {
    "optimal": "converged",
    "locallyOptimal": "converged",
    "globallyOptimal": "converged",
    "feasible": "feasible",
    "maxTimeLimit": "time_limit",
    "maxIterations": "time_limit",
    "infeasible": "error",
    "noSolution": "error",
    "unbounded": "error",
    "other": "error",
    "error": "error",
    "solverFailure": "error",
    "internalSolverError": "error",
    "unknown": "error",
}

#: Global AMPL-interface solvers (Couenne, BARON): ``optimal`` after a closed gap.
GLOBAL_LEGACY = {
    "optimal": "optimal",
    "globallyOptimal": "optimal",
    "locallyOptimal": "feasible",
    "feasible": "feasible",
    "maxTimeLimit": "time_limit",
    "maxIterations": "time_limit",
    "maxEvaluations": "time_limit",
    "intermediateNonInteger": "feasible",
    "infeasible": "infeasible",
    "noSolution": "error",
    "unbounded": "error",
    "other": "error",
    "error": "error",
    "solverFailure": "error",
    "internalSolverError": "error",
    "userInterrupt": "time_limit",
    "licensingProblems": "error",
    "unknown": "error",
}

#: Local AMPL-interface MINLP solvers (Bonmin, Knitro): never ``optimal``.
LOCAL_LEGACY = {k: ("converged" if v == "optimal" else v) for k, v in GLOBAL_LEGACY.items()}
LOCAL_LEGACY["infeasible"] = "error"

# ----- NLP role ---------------------------------------------------------------------------

#: IPOPT (cyipopt, or the AMPL executable): a local optimum is ``converged``. A stop at the
#: iteration limit leaves a point that may be infeasible: ``error`` (the point is loaded).
IPOPT = {
    "optimal": "converged",
    "locallyOptimal": "converged",
    "feasible": "feasible",
    "maxTimeLimit": "time_limit",
    "maxIterations": "error",
    "minStepLength": "error",
    "infeasible": "infeasible",
    "unbounded": "error",
    "userInterrupt": "error",
    "noSolution": "error",
    "solverFailure": "error",
    "invalidProblem": "error",
    "internalSolverError": "error",
    "resourceInterrupt": "error",
    "error": "error",
    "other": "error",
    "unknown": "error",
}

# ----- QP role (QPOutcome vocabulary, not result statuses) ----------------------------------

#: IPOPT on a convex QP: its KKT point is the QP optimum.
IPOPT_QP = {
    "optimal": "optimal",
    "locallyOptimal": "optimal",
    "feasible": "not_optimal",
    "maxTimeLimit": "time_limit",
    "maxIterations": "iteration_limit",
    "infeasible": "infeasible",
    "unbounded": "unbounded",
}

#: gurobipy model status names (``GRB.Status``) for a convex QP.
GUROBI_QP = {
    "OPTIMAL": "optimal",
    "INFEASIBLE": "infeasible",
    "INF_OR_UNBD": "infeasible",
    "UNBOUNDED": "unbounded",
    "TIME_LIMIT": "time_limit",
    "ITERATION_LIMIT": "iteration_limit",
    "NUMERIC": "numeric_error",
    "SUBOPTIMAL": "not_optimal",
}

#: Every backend's map, keyed "kind:name" -- the table docs/solvers.md reproduces.
STATUS_MAPS: dict[str, dict[str, str]] = {
    "qp:highs": HIGHS_QP_STATUS,
    "qp:ipopt": IPOPT_QP,
    "qp:gurobi": GUROBI_QP,
    "nlp:cyipopt": IPOPT,
    "nlp:ipopt": IPOPT,
    "minlp:scip": GLOBAL_CONTRIB,
    "minlp:gurobi": GLOBAL_CONTRIB,
    "minlp:mindtpy": MINDTPY,
    "minlp:couenne": GLOBAL_LEGACY,
    "minlp:baron": GLOBAL_LEGACY,
    "minlp:bonmin": LOCAL_LEGACY,
    "minlp:knitro": LOCAL_LEGACY,
}

#: The only backends allowed to say ``optimal`` (they prove a dual bound).
GLOBAL_BACKENDS = frozenset({"minlp:scip", "minlp:gurobi", "minlp:couenne", "minlp:baron"})


def native_name(code: object) -> str:
    """The name of a native status (an enum member's ``name``, else ``str``)."""
    return str(getattr(code, "name", code))


def gap_closed(incumbent: float | None, bound: float | None, tol: float = GAP_CLOSED) -> bool:
    """True when ``incumbent - bound <= tol * max(1, |incumbent|)`` (both finite)."""
    if incumbent is None or bound is None:
        return False
    if not (math.isfinite(incumbent) and math.isfinite(bound)):
        return False
    return incumbent - bound <= tol * max(1.0, abs(incumbent))


def map_status(key: str, native: object, *, has_point: bool) -> str:
    """Map a native code of backend ``key`` ("kind:name") onto a result status.

    Parameters
    ----------
    key : "kind:name", a key of ``STATUS_MAPS``.
    native : the backend's termination condition (enum or name).
    has_point : whether the backend produced a point; without one, ``converged`` and
        ``feasible`` degrade to ``error`` (``time_limit`` stays: it is what happened).
    """
    table = STATUS_MAPS[key]
    status = table.get(native_name(native), "error")
    if status == "optimal" and key not in GLOBAL_BACKENDS and not key.startswith("qp:"):
        status = "converged"
    if not has_point and status in ("optimal", "converged", "feasible"):
        status = "error"
    return status


def minlp_status(
    key: str,
    native: object,
    *,
    has_point: bool,
    incumbent: float | None,
    bound: float | None,
) -> str:
    """Result status of a MINLP run: ``optimal`` only from a global solver with the gap closed.

    A global solver that stops on its own gap criterion with a relative gap above
    ``GAP_CLOSED`` (a user's looser ``gap``) is reported ``feasible``, with its bound.
    """
    status = map_status(key, native, has_point=has_point)
    if status == "optimal" and not gap_closed(incumbent, bound):
        status = "feasible"
    return status
