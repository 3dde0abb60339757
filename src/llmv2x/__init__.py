"""llmv2x: resource allocation for LLM split inference in 6G vehicular networks.

Public API::

    import llmv2x
    inst = llmv2x.load_instance("paper-seed0")
    res = llmv2x.solve(inst, method="ao", omega_t=0.5)
    print(res.objective, res.status)

The names below are loaded on first use (PEP 562), so ``import llmv2x`` and the command
line's ``--help`` do not pay for NumPy, Pyomo or pandas; ``__version__`` comes from the
installed package's metadata, also on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmv2x.api import solve
    from llmv2x.errors import LlmV2xError
    from llmv2x.instances import Instance, generate_instance, load_instance
    from llmv2x.models.allocation import Allocation
    from llmv2x.models.evaluator import evaluate
    from llmv2x.results import Result
    from llmv2x.settings import Objective, SolveSettings


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llmv2x")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.1.0"


#: public name -> module that defines it
_LAZY = {
    "Allocation": "llmv2x.models.allocation",
    "Instance": "llmv2x.instances",
    "LlmV2xError": "llmv2x.errors",
    "Objective": "llmv2x.settings",
    "Result": "llmv2x.results",
    "SolveSettings": "llmv2x.settings",
    "evaluate": "llmv2x.models.evaluator",
    "generate_instance": "llmv2x.instances",
    "load_instance": "llmv2x.instances",
    "solve": "llmv2x.api",
}

__all__ = [
    "Allocation",
    "Instance",
    "LlmV2xError",
    "Objective",
    "Result",
    "SolveSettings",
    "evaluate",
    "generate_instance",
    "load_instance",
    "solve",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its module the first time it is asked for."""
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llmv2x' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
