"""Solve settings: everything that is not instance data (docs/formulation.md, docs/cli.md)."""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from llmv2x.errors import SettingsError


class Objective(str, enum.Enum):
    """Objective variant: ``paper`` is eq. (10); ``latency`` adds omega_t T^com per vehicle."""

    PAPER = "paper"
    LATENCY = "latency"

    @classmethod
    def parse(cls, value: str | Objective) -> Objective:
        """The variant named ``value``; a clear SettingsError otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise SettingsError(
                f"objective: {value!r} is not one of {', '.join(o.value for o in cls)}"
            ) from None


#: ``budgets`` setting: (10c) and (10e) as equalities (P1) or inequalities.
BUDGETS = ("equality", "inequality")
#: ``association`` setting: the instance's association, or a decision of the solve.
ASSOCIATIONS = ("fixed", "decision")


def _is_real(value: Any) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class SolveSettings:
    """Options of one solve. ``omega_e = 1 - omega_t`` (paper section II-B).

    Attributes
    ----------
    omega_t : weight of time, in [0, 1].
    objective : ``paper`` (eq. (10)) or ``latency``.
    time_limit : wall-clock seconds for the whole solve (None: none); see docs/algorithms.md.
    qp_backend, nlp_backend, minlp_backend : registry names of the backends to use.
    seed : seed of a randomised method (baselines), recorded in the result.
    tol : relative tolerance of the outer loops (AO, fractional programming).
    gap : relative optimality gap asked of a MINLP backend.
    verbose : let backends print their logs.
    budgets : ``equality`` (P1) or ``inequality`` for (10c) and (10e)
        (docs/formulation.md#problem-variants).
    association : ``fixed`` (the instance's) or ``decision`` (each vehicle picks an RSU
        among its links).
    options : method-specific options: ``llmv2x.solvers.methods.OPTIONS`` lists what each
        method reads; ``llmv2x.solve`` refuses any other (docs/algorithms.md).
    """

    omega_t: float = 0.5
    objective: Objective = Objective.PAPER
    time_limit: float | None = None
    qp_backend: str = "highs"
    nlp_backend: str = "cyipopt"
    minlp_backend: str = "scip"
    seed: int | None = None
    tol: float = 1e-9
    gap: float = 1e-6
    verbose: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    budgets: str = "equality"
    association: str = "fixed"

    def __post_init__(self) -> None:
        w = self.omega_t
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise SettingsError(f"omega_t: {w!r} is not a number")
        if not 0.0 <= w <= 1.0:
            raise SettingsError(f"omega_t: {w} is outside [0, 1]")
        object.__setattr__(self, "omega_t", float(w))
        object.__setattr__(self, "objective", Objective.parse(self.objective))
        if self.time_limit is not None:
            if not _is_real(self.time_limit) or math.isnan(self.time_limit):
                raise SettingsError(f"time_limit: {self.time_limit!r} is not a number of seconds")
            if not self.time_limit > 0:
                raise SettingsError(f"time_limit: {self.time_limit} must be positive")
        for name in ("qp_backend", "nlp_backend", "minlp_backend"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise SettingsError(f"{name}: {value!r} is not a backend name")
        if self.seed is not None and not (
            isinstance(self.seed, numbers.Integral) and not isinstance(self.seed, bool)
        ):
            raise SettingsError(f"seed: {self.seed!r} is not an integer")
        for name in ("tol", "gap"):
            value = getattr(self, name)
            if not _is_real(value) or not math.isfinite(value) or not value > 0:
                raise SettingsError(f"{name}: {value!r} is not a positive number")
        if not isinstance(self.verbose, bool):
            raise SettingsError(f"verbose: {self.verbose!r} is not true or false")
        for name, choices in (("budgets", BUDGETS), ("association", ASSOCIATIONS)):
            value = getattr(self, name)
            if not isinstance(value, str) or value not in choices:
                raise SettingsError(f"{name}: {value!r} is not one of {', '.join(choices)}")
        if not isinstance(self.options, Mapping):
            raise SettingsError(f"options: {self.options!r} is not a mapping of name to value")
        bad = [k for k in self.options if not isinstance(k, str)]
        if bad:
            raise SettingsError(f"options: key {bad[0]!r} is not an option name")

    @property
    def omega_e(self) -> float:
        """Weight of energy, 1 - omega_t."""
        return 1.0 - self.omega_t

    @property
    def latency(self) -> bool:
        """True for the latency variant."""
        return self.objective is Objective.LATENCY

    def with_(self, **changes: Any) -> SolveSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)
