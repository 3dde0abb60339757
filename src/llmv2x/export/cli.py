"""``llmv2x export``: its arguments and its command (docs/cli.md, docs/export.md).

Adding the parser imports nothing heavy; the command imports Pyomo when it runs.
"""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the ``export`` sub-command to the ``llmv2x`` parser."""
    p = sub.add_parser(
        "export",
        help="write P1 as AMPL .nl or GAMS .gms for another solver (docs/export.md)",
        description="Write problem P1 of FILE for a solver llmv2x does not wrap: OUT.nl (AMPL, "
        "with OUT.row and OUT.col names files) or OUT.gms (GAMS), and an index OUT.nl.json or "
        "OUT.gms.json. The file's objective is llmv2x's objective, unscaled.",
        parents=[common],
    )
    p.add_argument("file", help="instance file or built-in name (paper-seed0..9)")
    p.add_argument("-o", "--output", required=True, help="file to write: OUT.nl or OUT.gms")
    p.add_argument(
        "--formulation",
        default="plain",
        choices=("plain", "strong"),
        help="plain: P1 as in docs/formulation.md; strong: the strengthened P1 of "
        "docs/minlp.md (default plain)",
    )
    from llmv2x.cli.parser import add_problem_args

    add_problem_args(p)
    p.add_argument(
        "--start",
        default=None,
        metavar="exact|RESULT",
        help="write a start point: exact (the certified optimum) or a result file of FILE "
        "(default none)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``llmv2x export``: check the target, build, write, print what was written."""
    from llmv2x.cli.output import check_output_file, results_only_on_stdout
    from llmv2x.export.core import export_format, export_p1
    from llmv2x.instances import load_instance
    from llmv2x.settings import SolveSettings

    export_format(args.output)
    check_output_file(args.output)
    settings = SolveSettings(
        omega_t=args.omega_t,
        objective=args.objective,
        budgets=args.budgets,
        association=args.association,
    )
    inst = load_instance(args.file)
    with results_only_on_stdout():
        info = export_p1(inst, args.output, settings, args.formulation, args.start)
    names = ", ".join(str(f) for f in info.files[1:])
    print(
        f"wrote {info.path} ({info.formulation} P1 of {inst.name}: {info.n_variables} "
        f"variables, {info.n_integer} integer, {info.n_constraints} constraints; "
        f"objective factor 1); also {names}"
    )
    if info.start is not None:
        print(f"start: {info.start.source}, objective {info.start.objective:.12g}")
    return 0
