"""Method name -> callable(instance, settings) -> Result, and the options each method reads.

``METHODS`` names the function of each method; ``OPTIONS`` declares, in one place, every
``settings.options`` entry a method reads (name, type, default, one-line description), so an
unknown or mistyped option is refused instead of silently ignored (docs/cli.md,
docs/algorithms.md). Nothing here imports a solver: the command line builds its choices and
help text from this module.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmv2x.errors import SettingsError

if TYPE_CHECKING:
    from llmv2x.instances.schema import Instance
    from llmv2x.results import Result
    from llmv2x.settings import SolveSettings

Method = Callable[["Instance", "SolveSettings"], "Result"]

#: method name -> "module:function"; loaded on first use so a missing optional backend
#: only matters to the method that needs it.
METHODS: dict[str, str] = {
    "ao": "llmv2x.solvers.ao:solve_ao",
    "minlp": "llmv2x.solvers.minlp:solve_minlp",
    "exact": "llmv2x.solvers.chunks:solve_exact_auto",
    "rlor": "llmv2x.baselines.rlor:solve_rlor",
    "rrlo": "llmv2x.baselines.rrlo:solve_rrlo",
    "local": "llmv2x.solvers.chunked_baselines:solve_local_auto",
    "offload": "llmv2x.solvers.chunked_baselines:solve_offload_auto",
    "equal": "llmv2x.solvers.chunked_baselines:solve_equal_auto",
    "initial": "llmv2x.solvers.initial:solve_initial",
}

#: one line per method, for ``llmv2x solve --help``
DESCRIPTIONS: dict[str, str] = {
    "ao": "the paper's alternating optimisation: SQP (QP backend) + fractional programming",
    "minlp": "P1 handed whole to a MINLP backend (--minlp-backend)",
    "exact": "certified global optimum from the structure of P1, with a lower bound",
    "rlor": "baseline: random offloading (alpha), optimised resources",
    "rrlo": "baseline: random resources, optimised offloading",
    "local": "baseline: alpha = Upsilon, everything on the vehicle",
    "offload": "baseline: alpha = 1, everything but the first layer on the RSU",
    "equal": "baseline: equal bandwidth and RSU-frequency shares, alpha optimised",
    "initial": "AO's simple feasible start, evaluated but not optimised (a reference)",
}


@dataclass(frozen=True)
class Option:
    """One method option: its type, its default (as the method applies it) and a description.

    ``kind`` is ``int``, ``float``, ``str``, ``bool`` or ``dict``; a str option may list its
    ``choices``. ``default=None`` means the method works it out (e.g. from the instance).
    """

    name: str
    kind: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    below: float | None = None

    def check(self, value: Any, method: str) -> Any:
        """``value`` if it fits this option, as ``kind`` (an integer is accepted for a float,
        NumPy scalars for numbers); else SettingsError naming the option."""
        where = f"option {self.name} of method {method}"
        if self.kind in (int, float) and not isinstance(value, bool):
            if isinstance(value, numbers.Integral) or (
                self.kind is float and isinstance(value, numbers.Real)
            ):
                value = self.kind(value)
        if not isinstance(value, self.kind) or (self.kind is not bool and isinstance(value, bool)):
            raise SettingsError(f"{where}: {value!r} is not {_KIND_NAMES[self.kind]} ({self.help})")
        if self.choices and value not in self.choices:
            raise SettingsError(f"{where}: {value!r} is not one of {', '.join(self.choices)}")
        if self.kind is float and not math.isfinite(value):
            raise SettingsError(f"{where}: {value!r} is not a finite number ({self.help})")
        if self.minimum is not None and not value >= self.minimum:
            raise SettingsError(f"{where}: {value!r} is below its minimum {self.minimum:g}")
        if self.below is not None and not value < self.below:
            raise SettingsError(f"{where}: {value!r} must be below {self.below:g}")
        return value


_KIND_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    dict: "a dict (JSON object)",
}

_NLP = Option(
    "nlp_options", dict, {}, "raw options of the NLP backend of sub-problem II, e.g. {'tol': 1e-8}"
)

#: methods that decompose by RSU run on RSU chunks with these (llmv2x.solvers.chunks)
_CHUNKS = (
    Option("workers", int, 1, "solve RSU chunks on this many workers", minimum=1),
    Option("executor", str, None, "where chunks run (default serial for 1 worker, else "
           "process)", ("serial", "process", "dask")),
    Option("chunk_vehicles", int, 20_000, "vehicles per RSU chunk", minimum=1),
    Option("dask_scheduler", str, None, "address of a running Dask scheduler (default: a "
           "local cluster)"),
)  # fmt: skip

#: method -> option name -> Option: every ``settings.options`` entry the method reads
OPTIONS: dict[str, dict[str, Option]] = {
    name: {o.name: o for o in opts}
    for name, opts in {
        "ao": (
            Option("recipe", str, "improved", "improved (vertex rounding) or paper (nearest)",
                   ("improved", "paper")),
            Option("rounding", str, None, "overrides the recipe's rounding of alpha",
                   ("nearest", "vertex")),
            Option("start_alpha", float, None, "alpha of the start (default (1+Upsilon)/2)",
                   minimum=1),
            Option("max_rounds", int, 10, "most AO rounds", minimum=1),
            Option("sqp_max_iter", int, 200, "most SQP iterations per round", minimum=1),
            Option("fp_max_iter", int, 15, "most fractional-programming iterations per round"),
            Option("fp_update", str, "linesearch", "update of the fractional-programming loop",
                   ("linesearch", "jong")),
            _NLP,
        ),
        "minlp": (
            Option("formulation", str, "plain", "plain P1 or strong (tightened) P1",
                   ("plain", "strong")),
            Option("reductions", bool, True, "strong formulation: optimality-based reductions"),
            Option("minlp_options", dict, {}, "raw options of the MINLP backend"),
        ),
        "exact": (
            *_CHUNKS,
            Option("gap", float, 1e-6, "relative optimality gap asked on the family's variants",
                   minimum=0, below=1),
        ),
        "rlor": (_NLP,),
        "rrlo": (),
        "local": (_NLP, *_CHUNKS),
        "offload": (_NLP, *_CHUNKS),
        "equal": _CHUNKS,
        "initial": (),
    }.items()
}  # fmt: skip


def method_options(method: str) -> dict[str, Option]:
    """The options ``method`` accepts; SettingsError naming the methods for an unknown one."""
    if method not in METHODS:
        raise SettingsError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    return OPTIONS.get(method, {})


def unknown_name_error(what: str, name: str, method: str, valid: Iterable[str]) -> SettingsError:
    """``unknown keyword 'omgea_t' for method ao (did you mean 'omega_t'?); valid: ...``."""
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listed = f"valid: {', '.join(valid)}" if valid else f"method {method} takes no {what}s"
    return SettingsError(f"unknown {what} {name!r} for method {method}{hint}; {listed}")


def check_options(method: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked against ``OPTIONS[method]``: names and types; returned as a dict.

    Raises SettingsError naming the bad option and the valid ones (with a close match).
    """
    known = method_options(method)
    out: dict[str, Any] = {}
    for name, value in options.items():
        if name not in known:
            raise unknown_name_error("option", name, method, sorted(known))
        out[name] = known[name].check(value, method)
    return out


def available_methods() -> list[str]:
    """Names of the methods whose module exists in this installation."""
    out = []
    for name, target in METHODS.items():
        mod = target.split(":")[0]
        if importlib.util.find_spec(mod) is not None:
            out.append(name)
    return out


def get_method(name: str) -> Method:
    """The method called ``name``; SettingsError naming the choices otherwise."""
    if name not in METHODS or name not in available_methods():
        raise SettingsError(f"method: {name!r} is not one of {', '.join(available_methods())}")
    mod, func = METHODS[name].split(":")
    return getattr(importlib.import_module(mod), func)


#: Methods that model every problem variant (docs/formulation.md#problem-variants).
VARIANT_METHODS = ("minlp", "ao")


#: Where a refusal points: the methods that solve the variants.
_USE = " (methods minlp, exact and ao do)"


def check_instance(
    instance: Instance, settings: SolveSettings | None = None, method: str | None = None
) -> None:
    """Refuse a problem variant the method does not solve, so nothing silently ignores it.

    Per-vehicle deadlines (``deadline_s``) and energy budgets (``energy_budget_j``) are
    parsed and validated (docs/data-format.md), and the settings ``budgets`` and
    ``association`` are checked by the evaluator (docs/formulation.md#problem-variants).
    Methods ``minlp``, ``ao`` (``VARIANT_METHODS``) and ``exact`` model every variant; for
    any other method, or
    when no method is named, every Problem but P1 is refused with one line naming the first
    variant.
    """
    from llmv2x.problem import Problem
    from llmv2x.settings import SolveSettings

    problem = Problem.of(instance, settings or SolveSettings())
    if method in VARIANT_METHODS or method == "exact":
        # exact: fixed association by branch and bound (docs/exact.md, "The problem family
        # under fixed association"); association=decision by a Lagrangian bound + recovery
        # (docs/exact.md#12-association-as-a-decision-a-certified-gap)
        return
    who = f"method {method} does not support" if method else "compare does not support"
    for has, what in (
        (problem.deadlines, "deadlines (deadline_s)"),
        (problem.energy_budgets, "energy budgets (energy_budget_j)"),
    ):
        if has:
            raise SettingsError(f"instance has per-vehicle {what}; {who} them yet{_USE}")
    for name, default in (("budgets", "equality"), ("association", "fixed")):
        value = getattr(problem, name)
        if value != default:
            raise SettingsError(f"{who} {name}={value} yet{_USE}")
