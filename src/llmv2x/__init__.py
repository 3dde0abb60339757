"""llmv2x: resource allocation for LLM split inference in 6G vehicular networks.

Public API::

    import llmv2x
    inst = llmv2x.load_instance("paper-seed0")
    res = llmv2x.solve(inst, method="ao", omega_t=0.5)
    print(res.objective, res.status)
"""

from llmv2x.api import solve
from llmv2x.errors import LlmV2xError
from llmv2x.instances import Instance, generate_instance, load_instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.results import Result
from llmv2x.settings import Objective, SolveSettings

__version__ = "0.1.0"

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
