"""The result of a solve: ``Result``, its files (JSON or ``.npz``), the claims audit, and
tables (docs/result-format.md).

Modules, by step: ``parse`` (checking a result dictionary, vectorised), ``io`` (JSON text
and the ``.npz`` container, chosen by extension), ``result`` (the ``Result`` class),
``make`` (``make_result``, verified by the evaluator), ``audit`` (what ``llmv2x evaluate``
checks) and ``table`` (pandas DataFrames; pandas is imported only when a table is made).
"""

from llmv2x.results.audit import CLAIM_RTOL, Audit, audit, can_prove_optimality
from llmv2x.results.io import BINARY_SUFFIX, is_binary_path
from llmv2x.results.make import make_result
from llmv2x.results.parse import ARRAYS, FIELDS, FORMAT, STATUSES
from llmv2x.results.result import Result
from llmv2x.results.table import load_table, vehicle_metrics

__all__ = [
    "ARRAYS",
    "BINARY_SUFFIX",
    "CLAIM_RTOL",
    "FIELDS",
    "FORMAT",
    "STATUSES",
    "Audit",
    "Result",
    "audit",
    "can_prove_optimality",
    "is_binary_path",
    "load_table",
    "make_result",
    "vehicle_metrics",
]
