"""``llmv2x library``: build, check and list the MINLP benchmark library (docs/library.md).

Adding the parser imports nothing heavy; the commands import Pyomo and SCIP when they run.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``library build``, ``library check`` and ``library list`` to the parser."""
    from llmv2x.library.build import DEFAULT_TIME_LIMIT_S, STAGES
    from llmv2x.library.readback import DEFAULT_TIME_LIMIT_S as CHECK_S

    p_lib = sub.add_parser(
        "library",
        help="the MINLP benchmark library: build, check, list (docs/library.md)",
        parents=[common],
    )
    p_lib.set_defaults(func=None, usage_of=p_lib)
    lsub = p_lib.add_subparsers(dest="library_command", metavar="{build,check,list}")
    only_help = "only the problems whose name matches this shell glob (default all)"

    p = lsub.add_parser(
        "build",
        help="write and solve the library's problems into a folder (resumable)",
        description="Per problem DIR/NAME/: the instance, NAME.nl (.row, .col), NAME.gms, the "
        "certificate (method exact), SCIP's and Gurobi's results at the time limit; then "
        "DIR/index.csv. Finished stages are not redone.",
        parents=[common],
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="library folder")
    p.add_argument("--only", default=None, metavar="NAME_GLOB", help=only_help)
    p.add_argument(
        "--stages",
        default=",".join(STAGES),
        help=f"comma-separated stages to run, from {','.join(STAGES)} (default all)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_S,
        help=f"seconds of each SCIP and Gurobi solve (default {DEFAULT_TIME_LIMIT_S:g})",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="problems built at once, in processes (default 1)"
    )
    p.set_defaults(func=run_build)

    p = lsub.add_parser(
        "check",
        help="read every problem back with SCIP's .nl reader; exit 1 on a failure",
        description="For every built problem: SCIP's .nl reader finds our certified point "
        "feasible at our objective, its dual bound after a short solve stays at or below it, "
        "and a proven SCIP optimum equals ours. Prints a table; exit 1 if any check fails.",
        parents=[common],
    )
    p.add_argument("folder", metavar="DIR", help="library folder written by `library build`")
    p.add_argument("--only", default=None, metavar="NAME_GLOB", help=only_help)
    p.add_argument(
        "--time-limit",
        type=float,
        default=CHECK_S,
        help=f"seconds of SCIP's short solve per problem (default {CHECK_S:g})",
    )
    p.set_defaults(func=run_check)

    p = lsub.add_parser("list", help="print the catalogue: one problem a line", parents=[common])
    p.add_argument("--only", default=None, metavar="NAME_GLOB", help=only_help)
    p.set_defaults(func=run_list)


def run_build(args: argparse.Namespace) -> int:
    """Run ``llmv2x library build``; exit 1 when a stage of some problem failed."""
    from llmv2x.cli.output import check_output_dir
    from llmv2x.library.build import build, parse_stages

    stages = parse_stages(args.stages)
    check_output_dir(args.output)
    quiet = bool(getattr(args, "quiet", False))

    def progress(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    report = build(args.output, args.only, stages, args.time_limit, args.workers, progress)
    skipped = sum(len(v) for v in report.skipped.values())
    print(
        f"library {report.folder}: {len(report.ran)} problems, {report.n_ran} stages run, "
        f"{skipped} already done, {len(report.failed)} problems with a failed stage; "
        f"{report.seconds:.1f} s; index {report.folder / 'index.csv'}"
    )
    for name, failed in report.failed.items():
        for stage, why in failed.items():
            print(f"failed: {name} {stage}: {why}")
    return 1 if report.failed else 0


def run_check(args: argparse.Namespace) -> int:
    """Run ``llmv2x library check``: print the table; exit 1 when a check fails."""
    from llmv2x.errors import SettingsError
    from llmv2x.library.readback import check_library, format_table

    if not args.time_limit > 0:
        raise SettingsError(f"--time-limit: {args.time_limit} must be positive")
    rows = check_library(args.folder, args.only, args.time_limit)
    print(format_table(rows))
    bad = [r.name for r in rows if not r.ok]
    print(f"{len(rows) - len(bad)} of {len(rows)} problems pass")
    return 1 if bad else 0


def run_list(args: argparse.Namespace) -> int:
    """Run ``llmv2x library list``."""
    from llmv2x.library.catalogue import select

    for p in select(args.only):
        print(f"{p.name}  {p.family}")
    return 0
