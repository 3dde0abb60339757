"""Building the ``llmv2x`` argument parser (docs/cli.md).

Nothing here imports a solver, Pyomo, pandas or matplotlib: help text comes from light modules.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from llmv2x.cli import commands as c

EXIT_USER_ERROR = 2

DESCRIPTION = (
    "Resource allocation for LLM split inference in 6G vehicular networks: generate or check "
    "instances, solve them (AO, MINLP, exact optimum, baselines), re-check results, compare "
    "methods and reproduce the paper's figures. See docs/cli.md."
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (docs/cli.md): no usage block on a bad argument."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    from llmv2x.instances.generate import scenario_fields

    p = sub.add_parser(
        "generate", help="write an instance of the default scenario (docs/choices.md section 11)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="instance name (default paper-seed{seed})")
    for name, typ, default in scenario_fields():
        p.add_argument(_flag(name), dest=name, type=typ, default=default, help=f"default {default}")
    p.add_argument("-o", "--output", required=True, help="instance JSON file to write")


def _settings_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--omega-t", type=float, default=0.5, help="weight of time, in [0, 1]")
    p.add_argument("--objective", default="paper", help="paper (eq. 10) or latency")
    p.add_argument("--time-limit", type=float, default=None, help="seconds per backend call")
    p.add_argument("--qp-backend", default="highs")
    p.add_argument("--nlp-backend", default="cyipopt")
    p.add_argument("--minlp-backend", default="scip")
    p.add_argument("--formulation", default=None, help="minlp: plain or strong")
    p.add_argument("--recipe", default=None, help="ao: improved (default) or paper")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option, repeatable (e.g. --option rounding=nearest)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of randomised methods")
    p.add_argument("--verbose", action="store_true", help="show backend logs")


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers", type=int, default=None, help="local processes (default: all cores; 1: serial)"
    )
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS", help="run on this Dask")
    p.add_argument(
        "--dask-workers", type=int, default=None, metavar="N", help="local Dask cluster of N"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_reproduce(sub: argparse._SubParsersAction) -> None:
    from llmv2x.experiments.reproduce import DEFAULT_OUTPUT, SETS

    p = sub.add_parser("reproduce", help="the paper's Figures 1 and 2, with their data")
    p.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}")
    p.add_argument("--seeds", type=int, default=20, help="scenario draws per set (default 20)")
    p.add_argument(
        "--sets", default=",".join(SETS), help=f"comma-separated from {','.join(SETS)} (all)"
    )
    _executor_args(p)
    p.set_defaults(func=c._cmd_reproduce)


def _add_sweep(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="instances x omega_t x methods x seeds -> one CSV table")
    p.add_argument("files", nargs="*", help="instance files (default: generated scenario draws)")
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="without files: scenario draws 0..K-1, each solved with its own seed (default 20); "
        "with files: random seeds 0..K-1 for every file (default: the file's seed)",
    )
    p.add_argument("--omega-t", default="0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9")
    p.add_argument("--methods", default="ao,rlor,rrlo", help="comma-separated method names")
    p.add_argument("--objective", default="paper", help="paper (eq. 10) or latency")
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override of generated instances, repeatable (noise_dbm_per_hz=-174)",
    )
    p.add_argument("--retry-errors", action="store_true", help="solve saved error rows again")
    p.add_argument("-o", "--output", required=True, help="CSV table (resumed if it exists)")
    _executor_args(p)
    p.set_defaults(func=c._cmd_sweep)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``llmv2x`` command."""
    parser = _Parser(prog="llmv2x", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)

    p_inst = sub.add_parser("instance", help="generate or check instance files")
    isub = p_inst.add_subparsers(dest="instance_command", required=True)
    _add_generate(isub)
    p_chk = isub.add_parser("check", help="validate an instance file")
    p_chk.add_argument("file")
    p_chk.set_defaults(func=c._cmd_check)
    isub.choices["generate"].set_defaults(func=c._cmd_generate)

    p_solve = sub.add_parser("solve", help="solve an instance and write a result")
    p_solve.add_argument("file", help="instance file or built-in name (paper-seed0)")
    p_solve.add_argument("--method", default="ao")
    _settings_args(p_solve)
    p_solve.add_argument("-o", "--output", default=None, help="result JSON file to write")
    p_solve.set_defaults(func=c._cmd_solve)

    p_eval = sub.add_parser("evaluate", help="re-check a result independently of the solver")
    p_eval.add_argument("file")
    p_eval.add_argument("result")
    p_eval.set_defaults(func=c._cmd_evaluate)

    p_cmp = sub.add_parser("compare", help="AO vs MINLP backends vs exact vs baselines")
    p_cmp.add_argument("file")
    _settings_args(p_cmp)
    p_cmp.add_argument(
        "--minlp-backends", default=None, help="comma-separated (default: every available one)"
    )
    p_cmp.add_argument("-o", "--output-dir", default=".", help="folder for the CSV and Markdown")
    p_cmp.set_defaults(func=c._cmd_compare)

    p_demo = sub.add_parser("demo", help="solve the default instance and print a summary")
    p_demo.add_argument("--instance", default="paper-seed0")
    p_demo.add_argument("--omega-t", type=float, default=0.5)
    p_demo.set_defaults(func=c._cmd_demo)

    _add_reproduce(sub)
    _add_sweep(sub)

    p_solvers = sub.add_parser("solvers", help="which backends are available here")
    p_solvers.set_defaults(func=c._cmd_solvers)
    return parser
