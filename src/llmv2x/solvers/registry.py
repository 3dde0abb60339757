"""Every solver backend in one explicit table: (role, name) -> "module:Class", loaded lazily.

Roles: ``qp`` (the SQP steps of sub-problem I), ``nlp`` (sub-problem II's convex model
(46)), ``minlp`` (P1 handed whole to a solver). A backend module is imported only when it is
asked for, and its ``available()`` looks for module specs and executables without importing
native libraries, so ``llmv2x solvers`` is cheap and a missing optional solver only matters
to the run that needs it.

A user's choice is honoured or refused with the backend's reason and fix; it is never
swapped for another backend (``get_backend``). To add a backend, see docs/solvers.md.
"""

from __future__ import annotations

import importlib
from typing import Any

from llmv2x.errors import BackendUnavailable, SettingsError
from llmv2x.solvers.base import Availability, State

KINDS = ("qp", "nlp", "minlp")

#: (kind, name) -> "module:Class". The order is the order of ``llmv2x solvers``; the first
#: name of each kind is its default (SolveSettings' qp_backend, nlp_backend, minlp_backend).
BACKENDS: dict[tuple[str, str], str] = {
    ("qp", "highs"): "llmv2x.solvers.backends.highs:HighsBackend",
    ("qp", "ipopt"): "llmv2x.solvers.backends.ipopt:IpoptQPBackend",
    ("qp", "gurobi"): "llmv2x.solvers.backends.gurobi:GurobiQPBackend",
    ("nlp", "cyipopt"): "llmv2x.solvers.backends.ipopt:CyipoptBackend",
    ("nlp", "ipopt"): "llmv2x.solvers.backends.ipopt:IpoptExecutableBackend",
    ("minlp", "scip"): "llmv2x.solvers.backends.scip:ScipBackend",
    ("minlp", "gurobi"): "llmv2x.solvers.backends.gurobi:GurobiMINLPBackend",
    ("minlp", "mindtpy"): "llmv2x.solvers.backends.mindtpy:MindtPyBackend",
    ("minlp", "couenne"): "llmv2x.solvers.backends.ampl:CouenneBackend",
    ("minlp", "bonmin"): "llmv2x.solvers.backends.ampl:BonminBackend",
    ("minlp", "baron"): "llmv2x.solvers.backends.ampl:BaronBackend",
    ("minlp", "knitro"): "llmv2x.solvers.backends.ampl:KnitroBackend",
}

_LOADED: dict[tuple[str, str], Any] = {}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise SettingsError(f"backend kind: {kind!r} is not one of {', '.join(KINDS)}")


def backend_names(kind: str) -> list[str]:
    """Names registered for ``kind`` (``qp``, ``nlp`` or ``minlp``), in table order."""
    _check_kind(kind)
    return [name for (k, name) in BACKENDS if k == kind]


def load_backend(name: str, kind: str) -> Any:
    """An instance of the backend class registered as (kind, name), availability unchecked.

    Raises
    ------
    SettingsError
        ``name`` is not registered for ``kind``; the message lists the names that are.
    """
    _check_kind(kind)
    key = (kind, name)
    if key not in BACKENDS:
        raise SettingsError(
            f"{kind} backend: {name!r} is not one of {', '.join(backend_names(kind))}"
        )
    if key not in _LOADED:
        module, cls = BACKENDS[key].split(":")
        _LOADED[key] = getattr(importlib.import_module(module), cls)()
    return _LOADED[key]


def get_backend(name: str, kind: str) -> Any:
    """The backend ``name`` of role ``kind``, ready to use; never a substitute.

    Parameters
    ----------
    name : registry name, as on the command line (``highs``, ``cyipopt``, ``scip``, ...).
    kind : ``qp``, ``nlp`` or ``minlp``.

    Raises
    ------
    SettingsError
        unknown name (the message lists the names of that kind).
    BackendUnavailable
        the backend cannot run here; the one-line message gives the reason and the fix,
        e.g. ``minlp backend scip: not available because pyscipopt is not installed
        (pip install llmv2x[scip])``.
    """
    backend = load_backend(name, kind)
    avail = backend.available()
    if not avail:
        raise BackendUnavailable(f"{kind} backend {avail.describe(name)}")
    return backend


def availability(name: str, kind: str) -> Availability:
    """Availability of one backend; an import failure of its module counts as ``no``."""
    try:
        backend = load_backend(name, kind)
    except ImportError as exc:
        return Availability(State.NO, f"its module failed to import ({exc})", "see docs/solvers.md")
    return backend.available()


def installed_backends(kind: str) -> list[str]:
    """Names of the backends of ``kind`` that can run here (state yes or limited)."""
    return [name for name in backend_names(kind) if availability(name, kind)]


def _version(name: str, kind: str) -> str:
    """The backend's version string, or '' if asking for it fails."""
    try:
        return str(load_backend(name, kind).version())
    except Exception:  # noqa: BLE001 - a version probe must never break the table
        return ""


def availability_rows() -> list[dict[str, str]]:
    """One dict per registered backend: role, name, state, version, note (reason and fix)."""
    rows = []
    for kind, name in BACKENDS:
        avail = availability(name, kind)
        if avail.state is State.NO:
            note = f"{avail.reason}" + (f"; fix: {avail.fix}" if avail.fix else "")
        else:
            note = avail.reason
        rows.append(
            {
                "role": kind,
                "name": name,
                "state": avail.state.value,
                "version": _version(name, kind) if avail else "",
                "note": note,
            }
        )
    return rows


def availability_table() -> str:
    """The text ``llmv2x solvers`` prints: every backend, its state, version and why not."""
    rows = availability_rows()
    heads = {"role": "role", "name": "backend", "state": "state", "version": "version"}
    widths = {k: max(len(h), *(len(r[k]) for r in rows)) for k, h in heads.items()}
    lines = ["  ".join(h.ljust(widths[k]) for k, h in heads.items()) + "  note"]
    for r in rows:
        lines.append("  ".join(r[k].ljust(widths[k]) for k in heads) + "  " + r["note"])
    defaults = ", ".join(f"{k}: {backend_names(k)[0]}" for k in KINDS)
    lines.append(
        f"defaults -- {defaults}; choose with --qp-backend, --nlp-backend, --minlp-backend"
    )
    return "\n".join(line.rstrip() for line in lines)
