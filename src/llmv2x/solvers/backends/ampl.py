"""Optional MINLP solvers with an AMPL (``.nl``) or shell interface, used when on PATH.

Couenne and BARON are global (spatial branch and bound): they may report ``optimal`` and a
bound. Bonmin and Knitro are local on a nonconvex problem such as P1: at most
``converged``, never a bound. None of them is packaged for Debian or PyPI, so they are
registered but usually reported as not available; each class translates the generic
options (time limit, gap, verbosity) into the solver's own names.
"""

from __future__ import annotations

import math
import shutil
from typing import Any

from llmv2x.errors import BackendUnavailable
from llmv2x.solvers.base import Availability, BackendOutcome, State, module_missing
from llmv2x.solvers.status import minlp_status, native_name


class AmplMINLPBackend:
    """Base class: a solver executable driven through ``pyo.SolverFactory(factory)``."""

    name = "ampl"
    kind = "minlp"
    executable = ""
    factory = ""
    global_solver = False
    description = ""

    @property
    def status_key(self) -> str:
        """Key of this backend's map in ``llmv2x.solvers.status.STATUS_MAPS``."""
        return f"minlp:{self.name}"

    def available(self) -> Availability:
        """Available when the executable is on PATH."""
        if module_missing("pyomo"):
            return Availability(State.NO, "pyomo is not installed", "pip install pyomo")
        if shutil.which(self.executable) is None:
            return Availability(
                State.NO,
                f"no {self.executable} executable on PATH",
                f"install {self.name} and put {self.executable} on PATH",
            )
        return Availability(State.YES)

    def version(self) -> str:
        """``name X.Y.Z`` as Pyomo reads it from the executable."""
        import pyomo.environ as pyo

        v = pyo.SolverFactory(self.factory).version()
        return f"{self.name} " + (".".join(str(x) for x in v) if v else "(version unknown)")

    def native_options(
        self, time_limit: float | None, gap: float | None, tee: bool
    ) -> dict[str, Any]:  # pragma: no cover - overridden
        """The solver's own option names for a time limit and a relative gap."""
        raise NotImplementedError

    def solve(
        self,
        model: Any,
        time_limit: float | None,
        gap: float | None,
        options: dict[str, Any] | None = None,
        tee: bool = False,
    ) -> BackendOutcome:
        """Solve with the executable and load its point (see the class's status map).

        Parameters
        ----------
        model : Pyomo MINLP.
        time_limit : seconds, translated by ``native_options``.
        gap : relative gap, translated by ``native_options``.
        options : raw solver options, passed through.
        tee : show the solver's log.
        """
        import pyomo.environ as pyo

        avail = self.available()
        if not avail:
            raise BackendUnavailable(avail.describe(self.name))
        opt = pyo.SolverFactory(self.factory)
        opts = {**self.native_options(time_limit, gap, tee), **(options or {})}
        res = opt.solve(model, tee=tee, options=opts, load_solutions=False)
        has_point = len(res.solution) > 0
        if has_point:
            model.solutions.load_from(res)
        native = native_name(res.solver.termination_condition)
        bound = None
        if self.global_solver:
            lb = res.problem.lower_bound
            if lb is not None and math.isfinite(float(lb)):
                bound = float(lb)
        incumbent = pyo.value(next(model.component_data_objects(pyo.Objective, active=True)))
        status = minlp_status(
            self.status_key,
            native,
            has_point=has_point,
            incumbent=incumbent if has_point else None,
            bound=bound,
        )
        if status == "optimal" and bound is None:
            status = "feasible"
        return BackendOutcome(
            status,
            has_point,
            bound=bound,
            message=f"{self.name} {native}",
            native_status=native,
        )


class CouenneBackend(AmplMINLPBackend):
    """MINLP role: Couenne (global spatial B&B, AMPL interface)."""

    name = "couenne"
    executable = "couenne"
    factory = "couenne"
    global_solver = True
    description = "Couenne global MINLP (AMPL executable on PATH)"

    def native_options(self, time_limit: float | None, gap: float | None, tee: bool) -> dict:
        """Couenne reads Bonmin's option names."""
        out: dict[str, Any] = {}
        if time_limit is not None:
            out["bonmin.time_limit"] = float(time_limit)
        if gap is not None:
            out["bonmin.allowable_fraction_gap"] = float(gap)
        return out


class BonminBackend(CouenneBackend):
    """MINLP role: Bonmin (branch and bound on NLP relaxations; local on P1)."""

    name = "bonmin"
    executable = "bonmin"
    factory = "bonmin"
    global_solver = False
    description = "Bonmin MINLP, local on nonconvex P1 (AMPL executable on PATH)"


class BaronBackend(AmplMINLPBackend):
    """MINLP role: BARON (global), through Pyomo's BARON shell interface."""

    name = "baron"
    executable = "baron"
    factory = "baron"
    global_solver = True
    description = "BARON global MINLP (executable on PATH)"

    def native_options(self, time_limit: float | None, gap: float | None, tee: bool) -> dict:
        """BARON's MaxTime and EpsR."""
        out: dict[str, Any] = {}
        if time_limit is not None:
            out["MaxTime"] = float(time_limit)
        if gap is not None:
            out["EpsR"] = float(gap)
        return out


class KnitroBackend(AmplMINLPBackend):
    """MINLP role: Knitro's MINLP branch and bound (``knitroampl``); local on P1."""

    name = "knitro"
    executable = "knitroampl"
    factory = "knitroampl"
    global_solver = False
    description = "Knitro MINLP through knitroampl, local on nonconvex P1"

    def native_options(self, time_limit: float | None, gap: float | None, tee: bool) -> dict:
        """Knitro's mip_maxtime_real, mip_opt_gap_rel and outlev."""
        out: dict[str, Any] = {"outlev": 2 if tee else 0}
        if time_limit is not None:
            out["mip_maxtime_real"] = float(time_limit)
        if gap is not None:
            out["mip_opt_gap_rel"] = float(gap)
        return out
