"""IPOPT backends: the NLP role (``cyipopt``, ``ipopt``) and the alternative QP role (``ipopt``).

* ``nlp:cyipopt`` -- Pyomo's ``SolverFactory('cyipopt')``: IPOPT through cyipopt and
  PyNumero, which needs PyNumero's compiled ASL library (``make setup`` builds it against
  Debian's ASL; see docs/solvers.md). The default NLP backend: sub-problem II's model (46).
* ``nlp:ipopt`` -- the AMPL ``ipopt`` executable through ``SolverFactory('ipopt')``, used
  only when one is on PATH (Debian packages none).
* ``qp:ipopt`` -- a convex QP written as a small Pyomo model and solved by cyipopt, rebuilt
  per call. Multipliers come from IPOPT itself: the equality duals through the ``dual``
  Suffix and the bound multipliers through the ``ipopt_zL_out``/``ipopt_zU_out`` Suffixes,
  converted to the convention of ``llmv2x.solvers.qp`` (``H x + g = A^T y + z``).

IPOPT is a local method: its "optimal" is ``converged`` (see ``llmv2x.solvers.status``).
"""

from __future__ import annotations

import shutil
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.base import Availability, BackendOutcome, State, module_missing
from llmv2x.solvers.qp import QPOutcome
from llmv2x.solvers.status import map_status, native_name

SETUP_FIX = "run make setup (builds PyNumero's ASL, see docs/solvers.md)"

#: Generic option names understood by every NLP backend, and IPOPT's own names for them.
GENERIC_TO_IPOPT = {"tol": "tol", "max_iter": "max_iter", "acceptable_tol": "acceptable_tol"}


def cyipopt_availability() -> Availability:
    """Whether cyipopt and PyNumero's ASL library are both present (no solve attempted)."""
    if module_missing("cyipopt"):
        return Availability(State.NO, "cyipopt is not installed", SETUP_FIX)
    if module_missing("pyomo"):
        return Availability(State.NO, "pyomo is not installed", "pip install pyomo")
    try:
        from pyomo.contrib.pynumero.asl import AmplInterface

        asl_ok = bool(AmplInterface.available())
    except ImportError:  # pragma: no cover - depends on the installation
        asl_ok = False
    if not asl_ok:
        return Availability(State.NO, "PyNumero's ASL library is missing", SETUP_FIX)
    return Availability(State.YES)


def ipopt_version_tuple() -> tuple[int, ...]:
    """Version of the Ipopt library cyipopt links against, e.g. (3, 11, 9)."""
    import cyipopt

    return tuple(int(x) for x in getattr(cyipopt, "IPOPT_VERSION", (0, 0, 0)))


def ipopt_options(
    time_limit: float | None, options: dict[str, Any] | None, tee: bool, wall_clock: bool
) -> dict[str, Any]:
    """Translate generic options into IPOPT's: time limit, verbosity, tolerances.

    ``options`` may hold the generic names ``tol``, ``max_iter``, ``acceptable_tol`` and
    any raw IPOPT option (passed through unchanged). ``verbose`` is dropped (use ``tee``).
    """
    out: dict[str, Any] = {"print_level": 5 if tee else 0, "sb": "yes"}
    if time_limit is not None:
        out["max_cpu_time"] = float(time_limit)
        if wall_clock:
            out["max_wall_time"] = float(time_limit)
    for key, value in (options or {}).items():
        if key in ("verbose", "gap"):
            continue
        out[GENERIC_TO_IPOPT.get(key, key)] = value
    return out


class CyipoptBackend:
    """NLP role: IPOPT through cyipopt and PyNumero (``pyo.SolverFactory('cyipopt')``)."""

    name = "cyipopt"
    kind = "nlp"
    description = "IPOPT through cyipopt/PyNumero (Pyomo SolverFactory('cyipopt'))"
    status_key = "nlp:cyipopt"

    def available(self) -> Availability:
        """Available when cyipopt imports and PyNumero's ASL library is built."""
        return cyipopt_availability()

    def version(self) -> str:
        """``cyipopt X.Y.Z (ipopt A.B.C)``."""
        import cyipopt

        ipopt = ".".join(str(x) for x in ipopt_version_tuple())
        return f"cyipopt {cyipopt.__version__} (ipopt {ipopt})"

    def solve(
        self,
        model: Any,
        time_limit: float | None = None,
        options: dict[str, Any] | None = None,
        tee: bool = False,
    ) -> BackendOutcome:
        """Solve the NLP ``model`` locally and load IPOPT's final point into it.

        Parameters
        ----------
        model : a Pyomo model with continuous variables (integers are not allowed).
        time_limit : seconds of wall clock for the whole call, counted from its start (so the
            model's translation counts too): IPOPT's ``max_cpu_time`` (and ``max_wall_time``
            on Ipopt 3.14+), and IPOPT is stopped at its first iteration past the end.
        options : generic (``tol``, ``max_iter``) or raw IPOPT options.
        tee : print IPOPT's log.

        Returns
        -------
        BackendOutcome with status ``converged``, ``feasible``, ``infeasible``,
        ``time_limit`` or ``error``; never ``optimal`` (IPOPT is a local method).
        """
        import pyomo.environ as pyo

        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        stop_at = None if time_limit is None else time.perf_counter() + float(time_limit)
        opts = ipopt_options(time_limit, options, tee, ipopt_version_tuple() >= (3, 14))
        iters = [0]
        stopped = [False]

        def count(*args: Any) -> bool:
            iters[0] = int(args[2])
            # max_cpu_time counts IPOPT's own time only; this bounds the call's wall clock
            if stop_at is not None and time.perf_counter() >= stop_at:
                stopped[0] = True
                return False
            return True

        try:
            res = pyo.SolverFactory("cyipopt").solve(
                model, tee=tee, options=opts, intermediate_callback=count
            )
        except Exception as exc:  # noqa: BLE001 - cyipopt/PyNumero raise assorted types
            return BackendOutcome("error", False, message=_one_line(exc))
        native = native_name(res.solver.termination_condition)
        status = "time_limit" if stopped[0] else map_status(self.status_key, native, has_point=True)
        return BackendOutcome(
            status, True, message=str(res.solver.message), native_status=native, iterations=iters[0]
        )


class IpoptExecutableBackend:
    """NLP role: the AMPL ``ipopt`` executable (``pyo.SolverFactory('ipopt')``) when on PATH."""

    name = "ipopt"
    kind = "nlp"
    description = "AMPL ipopt executable on PATH (Pyomo SolverFactory('ipopt'))"
    status_key = "nlp:ipopt"

    def available(self) -> Availability:
        """Available when an ``ipopt`` executable is on PATH."""
        if module_missing("pyomo"):
            return Availability(State.NO, "pyomo is not installed", "pip install pyomo")
        if shutil.which("ipopt") is None:
            return Availability(
                State.NO,
                "no ipopt executable on PATH",
                "install an AMPL ipopt binary, or use --nlp-backend cyipopt",
            )
        return Availability(State.YES)

    def version(self) -> str:
        """``ipopt X.Y.Z`` as the executable reports it."""
        import pyomo.environ as pyo

        v = pyo.SolverFactory("ipopt").version()
        return "ipopt " + ".".join(str(x) for x in (v or ("?",)))

    def solve(
        self,
        model: Any,
        time_limit: float | None = None,
        options: dict[str, Any] | None = None,
        tee: bool = False,
    ) -> BackendOutcome:
        """Solve the NLP ``model`` with the executable and load its point (see CyipoptBackend)."""
        import pyomo.environ as pyo

        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        opts = ipopt_options(time_limit, options, tee, wall_clock=False)
        opts.pop("sb", None)
        try:
            res = pyo.SolverFactory("ipopt").solve(
                model, tee=tee, options=opts, load_solutions=False
            )
            has_point = len(res.solution) > 0
            if has_point:
                model.solutions.load_from(res)
        except Exception as exc:  # noqa: BLE001 - the executable's failures surface variously
            return BackendOutcome("error", False, message=_one_line(exc))
        native = native_name(res.solver.termination_condition)
        status = map_status(self.status_key, native, has_point=has_point)
        return BackendOutcome(
            status, has_point, message=str(res.solver.message or ""), native_status=native
        )


class IpoptQPBackend:
    """QP role: convex QPs as a Pyomo model solved by cyipopt (rebuilt for every call)."""

    name = "ipopt"
    kind = "qp"
    description = "IPOPT via cyipopt on a Pyomo QP model (multipliers from IPOPT)"

    def available(self) -> Availability:
        """Same requirements as the ``cyipopt`` NLP backend."""
        return cyipopt_availability()

    def version(self) -> str:
        """``cyipopt X.Y.Z (ipopt A.B.C)``."""
        return CyipoptBackend().version()

    def qp_session(
        self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any] | None = None
    ) -> IpoptQPSession:
        """A QP with fixed rows ``A_eq x = b_eq`` (see ``llmv2x.solvers.qp.QPSession``)."""
        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        return IpoptQPSession(A_eq, b_eq, options or {})


class IpoptQPSession:
    """min 1/2 x'Hx + g'x s.t. A x = b, lb <= x <= ub, one Pyomo model per ``solve``.

    Tolerances are tight (``tol`` 1e-10 by default) because the SQP reads multipliers from
    the answer. ``options`` may set ``tol``, ``max_iter``, ``verbose`` or raw IPOPT options.
    """

    def __init__(self, A_eq: sp.spmatrix, b_eq: np.ndarray, options: dict[str, Any]) -> None:
        self.A = sp.csr_matrix(A_eq)
        self.b = np.asarray(b_eq, float)
        self.m, self.n = self.A.shape
        self.tee = bool(options.get("verbose", False))
        self.time_limit = options.get("time_limit")
        self.options = {
            "tol": 1e-10,
            **{k: v for k, v in options.items() if k not in ("verbose", "time_limit")},
        }

    def set_time_limit(self, seconds: float) -> None:
        """Limit the next solves to ``seconds`` each (IPOPT ``max_cpu_time``)."""
        self.time_limit = float(seconds)

    def _model(self, H: sp.spmatrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> Any:
        import pyomo.environ as pyo

        qp = pyo.ConcreteModel(name="QP")
        qp.I = pyo.RangeSet(0, self.n - 1)
        qp.R = pyo.RangeSet(0, self.m - 1)

        def bounds(_m: Any, i: int) -> tuple[float | None, float | None]:
            lo, hi = float(lb[i]), float(ub[i])
            return (lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)

        def start(_m: Any, i: int) -> float:
            lo, hi = float(lb[i]), float(ub[i])
            return float(np.clip(0.0, lo, hi)) if lo <= hi else lo

        qp.x = pyo.Var(qp.I, bounds=bounds, initialize=start)
        L = sp.tril(sp.coo_matrix(H)).tocoo()
        quad = [
            (0.5 * v if i == j else v) * qp.x[int(i)] * qp.x[int(j)]
            for i, j, v in zip(L.row, L.col, L.data, strict=True)
            if v != 0.0
        ]
        lin = [float(g[i]) * qp.x[i] for i in range(self.n) if g[i] != 0.0]
        qp.obj = pyo.Objective(expr=pyo.quicksum(quad + lin))
        A = self.A

        def row(_m: Any, r: int) -> Any:
            lo, hi = A.indptr[r], A.indptr[r + 1]
            terms = [float(A.data[k]) * _m.x[int(A.indices[k])] for k in range(lo, hi)]
            if not terms:
                return pyo.Constraint.Skip
            return pyo.quicksum(terms) == float(self.b[r])

        qp.rows = pyo.Constraint(qp.R, rule=row)
        qp.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        qp.ipopt_zL_out = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        qp.ipopt_zU_out = pyo.Suffix(direction=pyo.Suffix.IMPORT)
        return qp

    def solve(self, H: sp.spmatrix, g: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> QPOutcome:
        """Solve with Hessian ``H``, gradient ``g`` and bounds; multipliers from IPOPT.

        Pyomo's ``dual`` of an equality row is ``-y`` in ``H x + g = A^T y + z`` (checked on a
        known answer in the tests), and IPOPT's bound multipliers ``zL, zU >= 0`` give
        ``z = zL - zU``; the tests check the KKT residual (``llmv2x.solvers.qp.kkt_residual``).
        """
        import pyomo.environ as pyo

        zeros = (np.zeros(self.n), np.zeros(self.m), np.zeros(self.n))
        qp = self._model(H, np.asarray(g, float), np.asarray(lb, float), np.asarray(ub, float))
        opts = ipopt_options(self.time_limit, self.options, self.tee, wall_clock=False)
        try:
            res = pyo.SolverFactory("cyipopt").solve(qp, tee=self.tee, options=opts)
        except Exception as exc:  # noqa: BLE001 - cyipopt/PyNumero raise assorted types
            return QPOutcome("error", *zeros, message=_one_line(exc))
        native = native_name(res.solver.termination_condition)
        status = map_status("qp:ipopt", native, has_point=True)
        if status != "optimal":
            return QPOutcome(status, *zeros, message=str(res.solver.message))
        x = np.array([pyo.value(qp.x[i]) for i in range(self.n)], float)
        # Pyomo reports the equality duals with the opposite sign of our y
        y = -np.array(
            [qp.dual.get(qp.rows[r], 0.0) if r in qp.rows else 0.0 for r in range(self.m)],
            float,
        )
        zl = np.array([qp.ipopt_zL_out.get(qp.x[i], 0.0) for i in range(self.n)], float)
        zu = np.array([qp.ipopt_zU_out.get(qp.x[i], 0.0) for i in range(self.n)], float)
        return QPOutcome("optimal", x, y, zl - zu, message=native)


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` for an exception."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()
