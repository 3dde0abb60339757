"""Command line of llmv2x (docs/cli.md): argument parsing and error-to-exit-code mapping.

The package is split by step: ``parser`` builds the argparse tree, ``commands`` runs each
command, ``output`` formats and writes what a command produces, ``logs`` sends logging and
warnings to stderr. stdout carries results only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from llmv2x.cli.logs import configure_logging
from llmv2x.cli.output import _write_atomic, summary
from llmv2x.cli.parser import EXIT_USER_ERROR, build_parser
from llmv2x.errors import LlmV2xError

__all__ = ["EXIT_USER_ERROR", "_write_atomic", "build_parser", "main", "summary"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run a command; a user's mistake becomes one line on stderr and exit 2.

    ``llmv2x`` (or ``llmv2x instance``) without a command prints its help on stderr and
    exits 2. Returns the exit code (also for ``--help`` and argument errors, which argparse
    reports itself) rather than raising SystemExit.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USER_ERROR
    if args.func is None:
        sys.stderr.write(args.usage_of.format_help())
        return EXIT_USER_ERROR
    restore = configure_logging(args.verbosity, args.quiet)
    try:
        return int(args.func(args))
    except LlmV2xError as exc:
        print(f"llmv2x: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away; nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("llmv2x: interrupted", file=sys.stderr)
        return 130
    finally:
        restore()
