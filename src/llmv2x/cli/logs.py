"""Logging of the command line: everything on stderr, its amount set by -q / -v.

Pyomo logs to stdout unless the root logger has a handler, and Python warnings (NumPy's
RuntimeWarning, Pyomo's deprecations) print to stderr unconditionally. The command line
installs one stderr handler on the root logger and routes warnings through logging, so
stdout carries results only and third-party warnings show only with ``-v``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

#: loggers of other libraries that set a level of their own; every other one inherits the
#: root logger's level, also the third-party one
THIRD_PARTY = ("py.warnings", "pyomo", "distributed", "matplotlib")


class _StderrHandler(logging.StreamHandler):
    """A handler that writes to the current ``sys.stderr`` (which tests may replace)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def levels(verbosity: int, quiet: bool) -> tuple[int, int]:
    """(level of llmv2x's own logs, level of third-party logs and warnings)."""
    if quiet:
        return logging.ERROR, logging.ERROR
    if verbosity <= 0:
        return logging.WARNING, logging.ERROR
    if verbosity == 1:
        return logging.INFO, logging.WARNING
    return logging.DEBUG, logging.INFO


def configure_logging(verbosity: int = 0, quiet: bool = False) -> Callable[[], None]:
    """Send logging and warnings to stderr at the levels of ``-v`` / ``-q``.

    Returns a function that undoes it (``main`` calls it when the command ends, so running
    ``main`` inside another program leaves its logging as it was).
    """
    own, other = levels(verbosity, quiet)
    root = logging.getLogger()
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    saved = {name: logging.getLogger(name).level for name in ("", "llmv2x", *THIRD_PARTY)}
    root.addHandler(handler)
    root.setLevel(other)  # every logger without a level of its own: other libraries
    logging.getLogger("llmv2x").setLevel(own)
    for name in THIRD_PARTY:
        logging.getLogger(name).setLevel(other)
    logging.captureWarnings(True)

    def restore() -> None:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)

    return restore
