"""P1 (10) as a file for solvers llmv2x does not wrap: AMPL ``.nl`` and GAMS ``.gms``.

``export_p1`` builds P1 in the ``plain`` or ``strong`` formulation, optionally writes a start
point into it, and writes it through Pyomo's writers with symbolic names
(docs/export.md). ``llmv2x.export.readback`` reads an ``.nl`` file back with SCIP, a reader
llmv2x did not write, to check a point and a bound against it.

This package's ``__init__`` imports nothing heavy (the command-line parser imports
``llmv2x.export.cli``); the names below are loaded on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EXTENSIONS", "ExportInfo", "export_format", "export_p1", "resolve_start"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from llmv2x.export import core

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
