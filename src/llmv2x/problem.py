"""Which member of the problem family is solved: ``Problem`` (docs/formulation.md#problem-variants).

P1 of the paper is the default. Four options combine freely: the budgets (10c) and (10e)
as equalities or inequalities, per-vehicle deadlines, per-vehicle energy budgets (both read
from the instance) and the RSU association as data or as a decision. ``Problem.of`` reads
them from an instance and its solve settings; results record it (docs/result-format.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmv2x.errors import LlmV2xError, SettingsError
from llmv2x.settings import ASSOCIATIONS, BUDGETS

if TYPE_CHECKING:
    from llmv2x.instances.schema import Instance
    from llmv2x.settings import SolveSettings

#: Relative tolerance of deadlines and energy budgets (the budget sums keep 1e-9).
VARIANT_TOL = 1.0e-6

#: The keys of ``Problem.to_dict``, in file order.
PROBLEM_KEYS = ("budgets", "association", "deadlines", "energy_budgets")


@dataclass(frozen=True)
class Problem:
    """One member of the family: budgets, association, deadlines, energy budgets.

    Attributes
    ----------
    budgets : ``equality`` (P1) or ``inequality`` for (10c) and (10e).
    association : ``fixed`` (the instance's) or ``decision`` (each vehicle picks one of its
        links).
    deadlines : the instance's per-vehicle ``deadline_s`` are constraints.
    energy_budgets : the instance's per-vehicle ``energy_budget_j`` are constraints.
    """

    budgets: str = "equality"
    association: str = "fixed"
    deadlines: bool = False
    energy_budgets: bool = False

    def __post_init__(self) -> None:
        if self.budgets not in BUDGETS:
            raise SettingsError(f"budgets: {self.budgets!r} is not one of {', '.join(BUDGETS)}")
        if self.association not in ASSOCIATIONS:
            raise SettingsError(
                f"association: {self.association!r} is not one of {', '.join(ASSOCIATIONS)}"
            )
        for name in ("deadlines", "energy_budgets"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"{name}: {getattr(self, name)!r} is not true or false")

    @classmethod
    def of(cls, instance: Instance, settings: SolveSettings) -> Problem:
        """The problem solved on ``instance`` under ``settings``: the budgets and association
        from the settings, deadlines and energy budgets where the instance has any."""
        return cls(
            budgets=settings.budgets,
            association=settings.association,
            deadlines=instance.has_deadlines,
            energy_budgets=instance.has_energy_budgets,
        )

    @property
    def is_default(self) -> bool:
        """True for P1 itself: equality budgets, fixed association, no deadline or budget."""
        return self == Problem()

    @property
    def inequality(self) -> bool:
        """True when (10c) and (10e) are inequalities."""
        return self.budgets == "inequality"

    @property
    def association_decision(self) -> bool:
        """True when the association is a decision."""
        return self.association == "decision"

    def variants(self) -> list[str]:
        """The non-default options, one readable word each (``association=decision``)."""
        out = []
        if self.budgets != "equality":
            out.append(f"budgets={self.budgets}")
        if self.association != "fixed":
            out.append(f"association={self.association}")
        if self.deadlines:
            out.append("deadlines (deadline_s)")
        if self.energy_budgets:
            out.append("energy budgets (energy_budget_j)")
        return out

    def to_dict(self) -> dict[str, Any]:
        """``{"budgets": ..., "association": ..., "deadlines": bool, "energy_budgets": bool}``."""
        return {k: getattr(self, k) for k in PROBLEM_KEYS}

    @classmethod
    def from_dict(cls, d: Any, error: type[LlmV2xError] = SettingsError) -> Problem:
        """Parse ``to_dict``'s form; ``error`` (one line naming the key) on anything else."""
        if not isinstance(d, dict):
            raise error(f"problem: expected an object, got {type(d).__name__}")
        for k in d:
            if k not in PROBLEM_KEYS:
                raise error(f"problem.{k}: unknown key")
        for k in PROBLEM_KEYS:
            if k not in d:
                raise error(f"problem.{k}: missing key")
        try:
            return cls(**{k: d[k] for k in PROBLEM_KEYS})
        except SettingsError as exc:
            raise error(f"problem.{exc}") from None
