"""The backend contract: availability with a reason, and one class per backend.

A backend declares ``name`` (the CLI name), ``kind`` (``qp``, ``nlp`` or ``minlp``),
``available() -> Availability`` (cheap: looks for the module spec, not a licence, unless
asked), and ``version() -> str``. Role-specific methods:

* ``qp``: ``qp_session(A_eq, b_eq, options) -> QPSession`` (see ``llmv2x.solvers.qp``);
* ``nlp``: ``solve(model, time_limit, options, tee) -> BackendOutcome``, loading the point;
* ``minlp``: ``solve(model, time_limit, gap, options, tee) -> BackendOutcome``.
"""

from __future__ import annotations

import enum
import importlib.util
from dataclasses import dataclass


class State(str, enum.Enum):
    """yes: usable; limited: usable with a restriction (a size-limited licence); no: not usable."""

    YES = "yes"
    LIMITED = "limited"
    NO = "no"


@dataclass(frozen=True)
class Availability:
    """Whether a backend can run here, and why not (with the fix) when it cannot."""

    state: State
    reason: str = ""
    fix: str = ""

    def __bool__(self) -> bool:
        return self.state is not State.NO

    def describe(self, name: str) -> str:
        """One line such as ``scip: not available because pyscipopt is not installed (fix)``."""
        if self.state is State.YES:
            return f"{name}: available" + (f" ({self.reason})" if self.reason else "")
        if self.state is State.LIMITED:
            return f"{name}: limited because {self.reason}"
        return f"{name}: not available because {self.reason}" + (
            f" ({self.fix})" if self.fix else ""
        )


def module_missing(module: str) -> bool:
    """True if ``module`` cannot be found (checked without importing it)."""
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


@dataclass(frozen=True)
class BackendOutcome:
    """What an NLP or MINLP backend call returned, mapped onto result statuses.

    ``status`` is one of the six result statuses; ``has_point`` says whether a point was
    loaded into the model; ``bound`` is a proven dual bound (None unless proven).
    """

    status: str
    has_point: bool
    bound: float | None = None
    message: str = ""
    native_status: str = ""
    iterations: int = 0
