"""The short Python API: ``llmv2x.solve(instance, method="ao", omega_t=0.5)``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmv2x.errors import LlmV2xError
from llmv2x.instances import Instance, load_instance
from llmv2x.results import Result
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import (
    check_instance,
    check_options,
    get_method,
    method_options,
    unknown_name_error,
)


def solve(
    instance: Instance | str | Path,
    method: str = "ao",
    settings: SolveSettings | None = None,
    **kw: Any,
) -> Result:
    """Solve ``instance`` (an Instance, a file or a built-in name) with ``method``.

    Keyword arguments are ``SolveSettings`` fields (``omega_t``, ``objective``,
    ``time_limit``, ``qp_backend``, ``nlp_backend``, ``minlp_backend``, ``seed``, ...) or
    options of ``method`` (``llmv2x.solvers.methods.OPTIONS``, e.g. ``max_rounds`` and
    ``recipe`` for ``ao``), which go to ``settings.options``. Any other keyword, and any
    option in ``settings.options`` that ``method`` does not read, raises SettingsError
    naming the valid ones. The returned Result has been verified by the NumPy evaluator.
    """
    fields = list(SolveSettings.__dataclass_fields__)
    opts = method_options(method)
    for k in kw:
        if k not in fields and k not in opts:
            raise unknown_name_error("keyword", k, method, [*fields, *sorted(opts)])
    known = {k: v for k, v in kw.items() if k in fields}
    extra = {k: v for k, v in kw.items() if k not in fields}
    if settings is None:
        settings = SolveSettings(**known)
    elif known:
        settings = settings.with_(**known)
    if extra:
        settings = settings.with_(options={**settings.options, **extra})
    checked = check_options(method, settings.options)
    if checked != settings.options:
        settings = settings.with_(options=checked)
    func = get_method(method)
    inst = load_instance(instance)
    check_instance(inst, settings, method)
    result = func(inst, settings)
    if not isinstance(result, Result):
        raise LlmV2xError(f"method {method} returned {type(result).__name__}, not a Result")
    return result
