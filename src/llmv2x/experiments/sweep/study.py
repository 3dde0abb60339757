"""What a study solves: instance specifications, tasks, and the study grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmv2x.errors import SettingsError
from llmv2x.experiments.sets import METHOD_VARIANTS, OMEGA_T_GRID, PAPER_METHODS
from llmv2x.experiments.sweep.table import Key, make_key
from llmv2x.instances import Instance, load_instance
from llmv2x.settings import Objective, SolveSettings


def resolve_method(name: str) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The ``llmv2x solve`` method and options behind a table method name.

    ``ao-paper`` is AO with ``recipe=paper`` (``METHOD_VARIANTS``); every other name is a
    method of ``llmv2x solve`` with no options of its own.
    """
    return METHOD_VARIANTS.get(name, (name, ()))


@dataclass(frozen=True)
class InstanceSpec:
    """How a worker obtains an instance: generated from a scenario seed, or JSON text.

    Build one with ``generated``, ``from_instance`` or ``from_file``. The spec is
    small and picklable; the worker turns it into an ``Instance`` with ``load``.

    Attributes
    ----------
    name : instance name, the ``instance`` column of the table.
    seed : scenario seed; also the default random seed of the baselines.
    scenario : overrides of ``generate_instance`` as sorted (name, value) pairs; None when
        the instance is given as ``text``.
    text : instance JSON (docs/data-format.md) of the instance, or None for a generated one.
    """

    name: str
    seed: int | None = None
    scenario: tuple[tuple[str, Any], ...] | None = None
    text: str | None = None

    @classmethod
    def generated(cls, seed: int, name: str | None = None, **scenario: Any) -> InstanceSpec:
        """The default scenario drawn with ``seed``, with keyword overrides.

        Parameters
        ----------
        seed : seed of the scenario (placement, tokens, shadowing).
        name : instance name; default ``paper-seed{seed}``.
        **scenario : fields of ``llmv2x.instances.ScenarioParams`` to override,
            e.g. ``noise_dbm_per_hz=-174.0``. They are checked by the worker that builds
            the instance; an unknown field makes that solve's row an ``error``.
        """
        return cls(
            name=name if name is not None else f"paper-seed{seed}",
            seed=int(seed),
            scenario=tuple(sorted(scenario.items())),
        )

    @classmethod
    def from_instance(cls, instance: Instance) -> InstanceSpec:
        """A spec that carries ``instance`` as JSON text (works on remote Dask workers)."""
        return cls(name=instance.name, seed=instance.seed, text=instance.to_json(indent=None))

    @classmethod
    def from_file(cls, path: str | Path) -> InstanceSpec:
        """Read and validate an instance file (or built-in name) now; the spec carries its
        JSON text, so workers need not share the file system."""
        return cls.from_instance(load_instance(path))

    def load(self) -> Instance:
        """Build the instance (generate it, or validate the JSON text)."""
        if self.text is not None:
            return Instance.from_json(self.text)
        from llmv2x.instances import generate_instance

        return generate_instance(self.seed or 0, name=self.name, **dict(self.scenario or ()))


@dataclass(frozen=True)
class Task:
    """One solve of a study: an instance, a random seed, a method, omega_t and the variant.

    ``method`` is the table's name for it: a method of ``llmv2x solve`` or a variant such
    as ``ao-paper`` (see ``resolve_method``).
    """

    spec: InstanceSpec
    seed: int
    method: str
    omega_t: float
    objective: str = "paper"
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> Key:
        """(instance, seed, method, omega_t, objective_variant), as in the table."""
        return make_key(self.spec.name, self.seed, self.method, self.omega_t, self.objective)


@dataclass(frozen=True)
class Study:
    """Instances x omega_t values x methods x seeds, all under one objective variant.

    Attributes
    ----------
    instances : instance specifications (names must be unique).
    omega_t : weights of time to sweep, each in [0, 1].
    methods : method names of ``llmv2x solve``, or variants such as ``ao-paper`` (AO with
        the paper's recipe); checked when the study is made.
    seeds : random seeds of the randomised methods, crossed with everything else; None
        pairs each instance with its own scenario seed (one solve per instance), which is
        the paper study: instance ``paper-seed{s}`` is solved with seed ``s``.
    objective : ``paper`` or ``latency``.
    options : further solve settings or method options for every solve, as (name, value)
        pairs, e.g. ``(("time_limit", 60.0),)``.
    """

    instances: tuple[InstanceSpec, ...]
    omega_t: tuple[float, ...] = OMEGA_T_GRID
    methods: tuple[str, ...] = PAPER_METHODS
    seeds: tuple[int, ...] | None = None
    objective: str = "paper"
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        from llmv2x.solvers.methods import get_method

        object.__setattr__(self, "instances", tuple(self.instances))
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "omega_t", tuple(float(w) for w in self.omega_t))
        if self.seeds is not None:
            object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "objective", Objective.parse(self.objective).value)
        names = [s.name for s in self.instances]
        if len(set(names)) != len(names):
            raise SettingsError("study: instance names must be unique")
        for w in self.omega_t:
            SolveSettings(omega_t=w)  # refuses a weight outside [0, 1] with a clear message
        for m in self.methods:
            try:
                get_method(resolve_method(m)[0])  # an unknown method now, not once per solve
            except SettingsError:
                variants = ", ".join(METHOD_VARIANTS)
                raise SettingsError(
                    f"method: {m!r} is neither a method of llmv2x solve nor one of {variants}"
                ) from None

    def tasks(self) -> list[Task]:
        """Every solve of the study, in key order."""
        out = []
        for spec in self.instances:
            seeds = self.seeds if self.seeds is not None else (spec.seed or 0,)
            for seed in seeds:
                for method in self.methods:
                    for w in self.omega_t:
                        out.append(Task(spec, seed, method, w, self.objective, self.options))
        return sorted(out, key=lambda t: t.key)


def paper_study(
    seeds: int = 20,
    omega_t: Sequence[float] = OMEGA_T_GRID,
    methods: Sequence[str] = PAPER_METHODS,
    objective: str = "paper",
    prefix: str = "paper",
    **scenario: Any,
) -> Study:
    """The paper's study: the default scenario drawn with seeds 0..K-1, each instance solved
    with its own seed as the baselines' random seed.

    Parameters
    ----------
    seeds : K, the number of scenario draws.
    omega_t : weights of time (default 0.1, 0.2, ..., 0.9).
    methods : default AO (``improved`` recipe), AO with the paper's recipe (``ao-paper``),
        RLOR and RRLO.
    objective : ``paper`` (eq. (10)) or ``latency``.
    prefix : instance names are ``{prefix}-seed{s}``.
    **scenario : overrides of the scenario, e.g. ``noise_dbm_per_hz=-174.0``.
    """
    specs = tuple(
        InstanceSpec.generated(s, name=f"{prefix}-seed{s}", **scenario) for s in range(seeds)
    )
    return Study(specs, tuple(omega_t), tuple(methods), None, objective)
