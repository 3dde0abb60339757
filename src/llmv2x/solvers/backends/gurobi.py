"""Gurobi backends: ``qp:gurobi`` (gurobipy) and ``minlp:gurobi`` (``gurobi_direct_minlp``).

gurobipy from PyPI carries a size-limited licence. Measured here (gurobipy 13.0): a model is
refused with error 10010 when it has more than 2000 variables or 2000 linear (or quadratic)
constraints, and -- stricter -- more than 200 variables as soon as it has a quadratic term or
a general/nonlinear constraint. Every P1 is nonlinear, so the 200-variable rule is the one
that bites: Pyomo's ``gurobi_direct_minlp`` writes P1 with 5 N + 1 variables, so N = 40 is
already refused. The MINLP backend counts the Gurobi model before solving and does not
attempt one that is too large; error 10010 is caught in any case.
"""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.backends.scip import contrib_outcome
from llmv2x.solvers.base import Availability, BackendOutcome, State, module_missing
from llmv2x.solvers.qp import QPOutcome
from llmv2x.solvers.status import map_status

#: Limits of gurobipy's pip licence (measured, see the module docstring).
LICENCE_MAX_VARS = 2000
LICENCE_MAX_CONSTRS = 2000
LICENCE_MAX_NONLINEAR_VARS = 200
LIMITED_REASON = (
    "pip size-limited licence (2000 variables/constraints; "
    "200 variables once a model has quadratic or nonlinear terms)"
)
INSTALL_FIX = "pip install llmv2x[gurobi]"
#: Gurobi's error code for "Model too large for size-limited license".
ERROR_SIZE_LIMIT = 10010


def _licence_file() -> Path | None:
    """A Gurobi licence file in one of the places Gurobi looks, if there is one."""
    candidates = [os.environ.get("GRB_LICENSE_FILE", "")]
    candidates += [str(Path.home() / "gurobi.lic"), "/opt/gurobi/gurobi.lic"]
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def gurobi_availability(check_licence: bool = False) -> Availability:
    """yes / limited / no for gurobipy, checking the licence with a tiny model only if asked.

    Without ``check_licence``: gurobipy importable and no licence file -> ``limited`` (the
    pip licence); a licence file present -> ``yes`` (not verified).
    """
    if module_missing("gurobipy"):
        return Availability(State.NO, "gurobipy is not installed", INSTALL_FIX)
    if not check_licence:
        lic = _licence_file()
        if lic is None:
            return Availability(State.LIMITED, LIMITED_REASON)
        return Availability(State.YES, f"licence file {lic}, not checked")
    import gurobipy as gp

    try:
        env = gp.Env(empty=True)
        env.setParam("OutputFlag", 0)
        env.start()
    except gp.GurobiError as exc:
        return Availability(State.NO, f"no usable Gurobi licence ({exc})", "see gurobi.com")
    try:
        model = gp.Model(env=env)
        model.addVars(LICENCE_MAX_VARS + 1)
        model.optimize()
        return Availability(State.YES, "full licence")
    except gp.GurobiError:
        return Availability(State.LIMITED, LIMITED_REASON)
    finally:
        env.dispose()


def gurobi_version() -> str:
    """``gurobi X.Y.Z`` (the gurobipy package version)."""
    return f"gurobi {importlib.metadata.version('gurobipy')}"


def too_large(n_vars: int, n_constrs: int, nonlinear: bool, state: State) -> str:
    """Why a model exceeds the pip licence (empty string if it fits or the licence is full)."""
    if state is not State.LIMITED:
        return ""
    if nonlinear and n_vars > LICENCE_MAX_NONLINEAR_VARS:
        return (
            f"licence-limited: the model has {n_vars} variables and nonlinear terms; gurobipy's "
            f"pip licence allows {LICENCE_MAX_NONLINEAR_VARS} (use --minlp-backend scip)"
        )
    if n_vars > LICENCE_MAX_VARS or n_constrs > LICENCE_MAX_CONSTRS:
        return (
            f"licence-limited: the model has {n_vars} variables and {n_constrs} constraints; "
            f"gurobipy's pip licence allows {LICENCE_MAX_VARS} of each"
        )
    return ""


class GurobiQPBackend:
    """QP role: convex QPs with gurobipy (barrier), one Gurobi model kept per session."""

    name = "gurobi"
    kind = "qp"
    description = "Gurobi QP through gurobipy (persistent model)"

    def available(self, check_licence: bool = False) -> Availability:
        """yes/limited/no; ``check_licence`` tries a 2001-variable model."""
        return gurobi_availability(check_licence)

    def version(self) -> str:
        """``gurobi X.Y.Z``."""
        return gurobi_version()

    def qp_session(
        self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any] | None = None
    ) -> GurobiQPSession:
        """A persistent QP with fixed rows ``A_eq x = b_eq``."""
        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        return GurobiQPSession(A_eq, b_eq, options or {}, avail.state)


class GurobiQPSession:
    """min 1/2 x'Hx + g'x s.t. A x = b, lb <= x <= ub; Pi gives y and RC gives z.

    For a QP Gurobi's reduced cost is ``RC = H x + g - A^T Pi``, which is exactly the ``z``
    of ``llmv2x.solvers.qp`` with ``y = Pi``. ``options``: ``verbose``, ``time_limit``,
    ``tol`` (barrier and feasibility tolerances) or raw Gurobi parameters.
    """

    def __init__(
        self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any], state: State
    ) -> None:
        import gurobipy as gp

        self._gp = gp
        A = sp.csr_matrix(A_eq)
        self.m, self.n = A.shape
        self.refusal = too_large(self.n, self.m, True, state)
        self._env = gp.Env(empty=True)
        self._env.setParam("OutputFlag", 1 if options.get("verbose") else 0)
        self._env.start()
        model = gp.Model(env=self._env)
        for key, value in options.items():
            if key == "verbose":
                continue
            if key == "time_limit":
                model.setParam("TimeLimit", float(value))
            elif key == "tol":
                for p in ("BarQCPConvTol", "BarConvTol", "FeasibilityTol", "OptimalityTol"):
                    model.setParam(p, max(float(value), 1e-9))
            else:
                model.setParam(key, value)
        self._x = model.addMVar(self.n, lb=-np.inf, ub=np.inf)
        self._rows = model.addMConstr(A, self._x, "=", np.asarray(b_eq, float))
        self._model = model

    def set_time_limit(self, seconds: float) -> None:
        """Limit the next solves to ``seconds`` each (Gurobi ``TimeLimit``)."""
        self._model.setParam("TimeLimit", float(seconds))

    def solve(self, H: sp.spmatrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> QPOutcome:
        """Solve with Hessian ``H`` (symmetric), gradient ``g`` and bounds."""
        gp = self._gp
        zeros = (np.zeros(self.n), np.zeros(self.m), np.zeros(self.n))
        if self.refusal:
            return QPOutcome("error", *zeros, message=self.refusal)
        x, model = self._x, self._model
        x.lb = np.asarray(lb, float)
        x.ub = np.asarray(ub, float)
        Q = 0.5 * sp.csr_matrix(H)
        model.setObjective(x @ Q @ x + np.asarray(g, float) @ x, gp.GRB.MINIMIZE)
        try:
            model.optimize()
        except gp.GurobiError as exc:
            msg = str(exc)
            if exc.errno == ERROR_SIZE_LIMIT:
                msg = f"licence-limited: {msg}"
            return QPOutcome("error", *zeros, message=msg)
        native = _grb_status_name(gp, model.Status)
        status = map_status("qp:gurobi", native, has_point=model.SolCount > 0)
        if status != "optimal":
            return QPOutcome(status, *zeros, message=native)
        return QPOutcome(
            "optimal",
            np.array(x.X, float),
            np.array(self._rows.Pi, float),
            np.array(x.RC, float),
            message=native,
        )


def _grb_status_name(gp: Any, code: int) -> str:
    """Name of a ``GRB.Status`` code, e.g. ``OPTIMAL``."""
    for k in dir(gp.GRB.Status):
        if not k.startswith("_") and getattr(gp.GRB.Status, k) == code:
            return k
    return str(code)


class GurobiMINLPBackend:
    """MINLP role: Gurobi's global nonlinear MINLP through Pyomo's ``gurobi_direct_minlp``."""

    name = "gurobi"
    kind = "minlp"
    description = "Gurobi global MINLP (Pyomo gurobi_direct_minlp); pip licence: 200 variables"
    status_key = "minlp:gurobi"
    global_solver = True

    def available(self, check_licence: bool = False) -> Availability:
        """yes/limited/no; needs gurobipy 12+ for nonlinear constraints."""
        avail = gurobi_availability(check_licence)
        if avail and int(importlib.metadata.version("gurobipy").split(".")[0]) < 12:
            return Availability(
                State.NO, "gurobipy is older than 12 (no nonlinear constraints)", INSTALL_FIX
            )
        return avail

    def version(self) -> str:
        """``gurobi X.Y.Z``."""
        return gurobi_version()

    def model_size(self, model: Any) -> tuple[int, int, bool]:
        """(variables, constraints, nonlinear?) of the Gurobi model Pyomo would write.

        A model whose free Pyomo variables alone exceed the limits is not written at all.
        """
        import pyomo.environ as pyo

        # fixed variables become constants in the Gurobi model
        n_pyomo = sum(1 for v in model.component_data_objects(pyo.Var, active=True) if not v.fixed)
        parts = [c.body for c in model.component_data_objects(pyo.Constraint, active=True)]
        parts += [o.expr for o in model.component_data_objects(pyo.Objective, active=True)]
        nonlinear_pyomo = any(_degree(e) not in (0, 1) for e in parts)
        if (nonlinear_pyomo and n_pyomo > LICENCE_MAX_NONLINEAR_VARS) or n_pyomo > LICENCE_MAX_VARS:
            return n_pyomo, len(parts) - 1, nonlinear_pyomo
        from pyomo.common.tee import capture_output
        from pyomo.contrib.solver.solvers.gurobi.gurobi_direct_minlp import GurobiMINLPWriter

        # the writer makes a model in Gurobi's default environment, whose licence banner
        # would land on the CLI's stdout
        with capture_output(capture_fd=True):
            grb, *_ = GurobiMINLPWriter().write(model)
        try:
            grb.update()
            nonlinear = grb.NumGenConstrs + grb.NumQConstrs + grb.NumQNZs > 0
            return int(grb.NumVars), int(grb.NumConstrs + grb.NumQConstrs), bool(nonlinear)
        finally:
            grb.dispose()

    def solve(
        self,
        model: Any,
        time_limit: float | None,
        gap: float | None,
        options: dict[str, Any] | None = None,
        tee: bool = False,
    ) -> BackendOutcome:
        """Solve P1 (or any MINLP) and load the incumbent; refuse a model over the licence.

        Parameters
        ----------
        model : Pyomo model with integer variables and nonlinear expressions.
        time_limit : seconds (Gurobi ``TimeLimit``).
        gap : relative gap (Gurobi ``MIPGap``).
        options : raw Gurobi parameters (``NonConvex`` is not needed for Gurobi 12+).
        tee : print Gurobi's log.
        """
        from pyomo.contrib.solver.common.factory import SolverFactory

        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        n_vars, n_cons, nonlinear = self.model_size(model)
        refusal = too_large(n_vars, n_cons, nonlinear, avail.state)
        if refusal:
            return BackendOutcome("error", False, message=refusal)
        import gurobipy as gp

        opt = SolverFactory("gurobi_direct_minlp")
        try:
            res = opt.solve(
                model,
                tee=tee,
                time_limit=time_limit,
                rel_gap=gap,
                solver_options=dict(options or {}),
                load_solutions=False,
                raise_exception_on_nonoptimal_result=False,
            )
        except gp.GurobiError as exc:
            if exc.errno == ERROR_SIZE_LIMIT:
                return BackendOutcome("error", False, message=f"licence-limited: {exc}")
            return BackendOutcome("error", False, message=f"GurobiError {exc.errno}: {exc}")
        return contrib_outcome(self.status_key, res)


def _degree(expr: Any) -> int | None:
    """Polynomial degree of a Pyomo expression (None for a non-polynomial one)."""
    from pyomo.core.expr.numvalue import is_constant

    if is_constant(expr):
        return 0
    return expr.polynomial_degree()
