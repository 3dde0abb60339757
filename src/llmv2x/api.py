"""The short Python API: ``llmv2x.solve(instance, method="ao", omega_t=0.5)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmv2x.errors import LlmV2xError
from llmv2x.instances import Instance, load_instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import get_method


def solve(
    instance: Instance | str | Path,
    method: str = "ao",
    settings: SolveSettings | None = None,
    **kw: Any,
) -> Result:
    """Solve ``instance`` (an Instance, a file or a built-in name) with ``method``.

    Keyword arguments are ``SolveSettings`` fields (``omega_t``, ``objective``,
    ``time_limit``, ``qp_backend``, ``nlp_backend``, ``minlp_backend``, ``seed``, ...);
    unknown keywords go to ``settings.options``. The returned Result has been verified by
    the NumPy evaluator.
    """
    inst = load_instance(instance)
    fields = set(SolveSettings.__dataclass_fields__)
    known = {k: v for k, v in kw.items() if k in fields}
    extra = {k: v for k, v in kw.items() if k not in fields}
    if settings is None:
        settings = SolveSettings(**known)
    elif known:
        settings = settings.with_(**known)
    if extra:
        settings = settings.with_(options={**settings.options, **extra})
    func = get_method(method)
    result = func(inst, settings)
    if not isinstance(result, Result):
        raise LlmV2xError(f"method {method} returned {type(result).__name__}, not a Result")
    return result
