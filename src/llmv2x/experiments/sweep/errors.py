"""Which failed rows are worth solving again: the ``error_kind`` of an error row.

* ``transient``: the executor lost the solve, not the solver: the worker process died
  (``BrokenProcessPool``, ``BrokenExecutor``), Dask gave the task up (``KilledWorker``, a
  closed connection, a lost worker), memory ran out (``MemoryError``) or the executor timed
  out (``TimeoutError``, ``CancelledError``). A plain rerun solves these rows again.
* ``crash``: the worker process died every time this one solve was tried (the pool is
  rebuilt and the solve retried, alone, up to ``MAX_ATTEMPTS`` times). Only a rerun with
  ``retry_errors`` tries it again.
* ``raised``: the solve raised an exception (an invalid instance, a solver failure, a bug):
  solving again would give the same row, so only ``retry_errors`` does.

Rows that are not errors have an empty ``error_kind``.
"""

from __future__ import annotations

#: exception type names (matched along the exception's class hierarchy) that mark a row
#: ``transient``
TRANSIENT_ERRORS: frozenset[str] = frozenset(
    {
        "BrokenProcessPool",
        "BrokenExecutor",
        "KilledWorker",
        "CommClosedError",
        "WorkerLost",
        "FutureCancelledError",
        "CancelledError",
        "MemoryError",
        "TimeoutError",
    }
)
#: how often a solve may take its worker process down before it becomes a ``crash`` row
MAX_ATTEMPTS = 3


def classify(exc: BaseException) -> str:
    """``transient`` when ``exc`` (or one of its base classes) is in ``TRANSIENT_ERRORS``,
    else ``raised``."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return "transient" if names & TRANSIENT_ERRORS else "raised"


def classify_message(message: str) -> str:
    """The kind of a saved error row from its message ``"ExceptionType: text"`` (for tables
    written before the ``error_kind`` column)."""
    head = message.split(":", 1)[0].strip()
    if head == "WorkerDied":
        return "crash"
    return "transient" if head in TRANSIENT_ERRORS else "raised"
