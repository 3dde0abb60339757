"""Method name -> callable(instance, settings) -> Result (docs/cli.md)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable

from llmv2x.errors import SettingsError
from llmv2x.instances.schema import Instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings

Method = Callable[[Instance, SolveSettings], Result]

#: method name -> "module:function"; loaded on first use so a missing optional backend
#: only matters to the method that needs it.
METHODS: dict[str, str] = {
    "ao": "llmv2x.solvers.ao:solve_ao",
    "minlp": "llmv2x.solvers.minlp:solve_minlp",
    "exact": "llmv2x.solvers.exact:solve_exact",
    "rlor": "llmv2x.baselines.rlor:solve_rlor",
    "rrlo": "llmv2x.baselines.rrlo:solve_rrlo",
    "local": "llmv2x.baselines.fixed_split:solve_local",
    "offload": "llmv2x.baselines.fixed_split:solve_offload",
    "equal": "llmv2x.baselines.equal:solve_equal",
    "initial": "llmv2x.solvers.initial:solve_initial",
}


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
