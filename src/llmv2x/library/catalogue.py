"""The curated problem list of the MINLP benchmark library (docs/library.md).

A problem is an instance draw (seed, vehicles, RSUs, deadline and energy-budget tightness),
the solve settings that pick the member of the problem family (budgets, association, the
objective variant, omega_t) and a formulation (``plain`` or ``strong``). Everything is
derived from these fields by seeded code, so a catalogue version always gives the same files.

Names follow MINLPLib's habit of saying what is inside:
``v2x_n020_m05_dl13_en11_fix_eq_paper_strong`` is 20 vehicles, 5 RSUs, deadlines at
1.3 x the reference allocation's times, energy budgets at 1.1 x its energies (``00``: none),
fixed association (``dec``: a decision), equality budgets (``in``: inequalities), the
``paper`` objective and the ``strong`` formulation; ``_w20`` is appended when omega_t is not
0.5 (here 0.2).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from llmv2x.errors import SettingsError

if TYPE_CHECKING:
    from llmv2x.instances.schema import Instance
    from llmv2x.settings import SolveSettings

#: Bump when a problem's data or settings change: a library folder of another version is
#: refused, so a folder never mixes two catalogues.
CATALOGUE_VERSION = 1
#: The seed of every instance draw (each size is one draw; the variants add limits to it).
SEED = 1


@dataclass(frozen=True)
class LibraryProblem:
    """One problem of the library.

    Attributes
    ----------
    vehicles, rsus : size of the scenario draw (``generate_instance``).
    deadline, energy : tightness tau_D, tau_E of the per-vehicle limits (None: none).
    association : ``fixed`` or ``decision``.
    budgets : ``equality`` or ``inequality``.
    objective : ``paper`` or ``latency``.
    formulation : ``plain`` or ``strong``.
    omega_t : weight of time.
    seed : seed of the draw.
    """

    vehicles: int
    rsus: int
    deadline: float | None = None
    energy: float | None = None
    association: str = "fixed"
    budgets: str = "equality"
    objective: str = "paper"
    formulation: str = "strong"
    omega_t: float = 0.5
    seed: int = SEED

    @property
    def instance_name(self) -> str:
        """The instance's name: size and limits (shared by problems of the same draw)."""
        return (
            f"v2x_n{self.vehicles:03d}_m{self.rsus:02d}"
            f"_dl{_tenths(self.deadline)}_en{_tenths(self.energy)}"
        )

    @property
    def name(self) -> str:
        """The problem's name (module docstring)."""
        assoc = "fix" if self.association == "fixed" else "dec"
        budgets = "eq" if self.budgets == "equality" else "in"
        name = f"{self.instance_name}_{assoc}_{budgets}_{self.objective}_{self.formulation}"
        if self.omega_t != 0.5:
            name += f"_w{round(self.omega_t * 100):02d}"
        return name

    @property
    def family(self) -> str:
        """Which member of the problem family, in words (docs/formulation.md)."""
        parts = []
        if self.budgets == "inequality":
            parts.append("inequality budgets")
        if self.deadline is not None:
            parts.append("deadlines")
        if self.energy is not None:
            parts.append("energy budgets")
        if self.association == "decision":
            parts.append("association decision")
        return " + ".join(parts) or "P1"

    def instance(self) -> Instance:
        """The instance, drawn by ``generate_instance`` (deterministic)."""
        from llmv2x.instances.generate import generate_instance

        return generate_instance(
            seed=self.seed,
            name=self.instance_name,
            vehicles=self.vehicles,
            rsus=self.rsus,
            deadline_tightness=self.deadline,
            energy_tightness=self.energy,
        )

    def settings(self, **changes: object) -> SolveSettings:
        """The solve settings of the problem; ``changes`` adds fields (backend, time limit)."""
        from llmv2x.settings import SolveSettings

        return SolveSettings(
            omega_t=self.omega_t,
            objective=self.objective,
            budgets=self.budgets,
            association=self.association,
            **changes,  # type: ignore[arg-type]
        )


def _tenths(tau: float | None) -> str:
    return "00" if tau is None else f"{round(tau * 10):02d}"


def _p(n: int, m: int, *variants: str, **kw: object) -> list[LibraryProblem]:
    """Problems of one draw: ``variants`` are ``objective_formulation`` pairs."""
    out = []
    for v in variants:
        objective, formulation = v.split("_")
        out.append(LibraryProblem(n, m, objective=objective, formulation=formulation, **kw))
    return out


_DL = {"deadline": 1.3}
_DL_EN = {"deadline": 1.2, "energy": 1.2}
_DEC = {"association": "decision"}
_IN = {"budgets": "inequality"}

#: The library, in index order: P1 by size, then the family of variants.
CATALOGUE: tuple[LibraryProblem, ...] = tuple(
    # P1 (the paper's problem), 4 to 200 vehicles, both objectives and formulations
    _p(4, 2, "paper_plain", "paper_strong", "latency_plain", "latency_strong")
    + _p(8, 3, "paper_plain", "paper_strong", "latency_plain", "latency_strong")
    + _p(8, 3, "paper_strong", omega_t=0.2)
    + _p(12, 3, "paper_strong", "latency_strong")
    + _p(20, 5, "paper_plain", "paper_strong", "latency_plain", "latency_strong")
    + _p(30, 5, "paper_strong", "latency_plain")
    + _p(50, 6, "paper_plain", "latency_strong")
    + _p(100, 8, "paper_strong", "latency_plain")
    + _p(200, 10, "paper_plain", "paper_strong", "latency_strong")
    # inequality budgets
    + _p(4, 2, "paper_strong", **_IN)
    + _p(20, 5, "latency_plain", **_IN)
    + _p(50, 6, "paper_strong", **_IN)
    # deadlines
    + _p(4, 2, "paper_strong", **_DL)
    + _p(8, 3, "latency_strong", **_DL)
    + _p(8, 3, "paper_strong", **_DL, **_IN)
    + _p(20, 5, "paper_plain", **_DL)
    + _p(100, 8, "paper_strong", **_DL)
    # deadlines and energy budgets
    + _p(4, 2, "paper_strong", "latency_strong", **_DL_EN)
    + _p(8, 3, "latency_plain", **_DL_EN)
    + _p(20, 5, "paper_strong", **_DL_EN)
    + _p(50, 6, "latency_strong", **_DL_EN)
    # association decision, without and with deadlines
    + _p(4, 2, "paper_strong", **_DEC)
    + _p(8, 3, "latency_plain", **_DEC)
    + _p(20, 5, "paper_strong", **_DEC)
    + _p(50, 6, "paper_plain", **_DEC)
    + _p(4, 2, "paper_strong", **_DL, **_DEC)
    + _p(8, 3, "latency_strong", **_DL, **_DEC)
    + _p(20, 5, "paper_plain", **_DL, **_DEC)
)


def catalogue_digest(problems: tuple[LibraryProblem, ...] = CATALOGUE) -> str:
    """A short fingerprint of the catalogue (version and every problem's fields)."""
    text = json.dumps([CATALOGUE_VERSION, [asdict(p) for p in problems]], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def select(pattern: str | None = None) -> list[LibraryProblem]:
    """The problems whose name matches the shell glob ``pattern`` (all for None).

    Raises
    ------
    SettingsError
        no problem matches (the message shows a name to match).
    """
    if pattern is None:
        return list(CATALOGUE)
    chosen = [p for p in CATALOGUE if fnmatch.fnmatchcase(p.name, pattern)]
    if not chosen:
        raise SettingsError(
            f"--only: {pattern!r} matches no problem of the catalogue (names look like "
            f"{CATALOGUE[0].name}; `llmv2x library list` shows them)"
        )
    return chosen


def by_name() -> dict[str, LibraryProblem]:
    """Problem name -> problem."""
    return {p.name: p for p in CATALOGUE}
