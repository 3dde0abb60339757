"""Building the ``llmv2x`` argument parser (docs/cli.md).

Nothing here imports a solver, NumPy, Pyomo, pandas or matplotlib: choices and help text
come from light modules (``solvers.methods``, ``solvers.registry``, ``experiments.sets``),
and the scenario flags of ``instance generate`` are added only when that command is used.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from llmv2x.cli import commands as c

EXIT_USER_ERROR = 2

DESCRIPTION = (
    "Resource allocation for LLM split inference in 6G vehicular networks: generate or check "
    "instances, solve them (AO, MINLP, exact optimum, baselines), re-check results, compare "
    "methods and reproduce the paper's figures. Results go to stdout; logs and warnings go to "
    "stderr (more with -v, fewer with -q). See docs/cli.md."
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (docs/cli.md): no usage block on a bad argument.

    ``fill``, if given, adds more arguments the first time the parser is used (to parse or
    to print help), so a sub-command whose flags need a heavy import costs nothing until
    it is asked for.
    """

    def __init__(self, *args: Any, fill: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kw: Any) -> None:  # fmt: skip
        super().__init__(*args, **kw)
        self._fill = fill

    def _filled(self) -> None:
        if self._fill is not None:
            fill, self._fill = self._fill, None
            fill(self)

    def parse_known_args(self, args=None, namespace=None):  # noqa: D102
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:  # noqa: D102
        self._filled()
        return super().format_help()

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kw: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kw)

    def __call__(self, parser, namespace, values, option_string=None) -> NoReturn:
        import llmv2x

        print(f"llmv2x {llmv2x.__version__}")  # on stdout, as argparse's own version action
        parser.exit(0)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _logging_args(p: argparse.ArgumentParser, top: bool) -> None:
    """-v / -q, accepted before or after the sub-command."""
    default = 0 if top else argparse.SUPPRESS
    p.add_argument(
        "-v",
        "--verbose",
        dest="verbosity",
        action="count",
        default=default,
        help="more output on stderr: -v shows warnings, progress notes and the backends' "
        "own logs; -vv adds debug logs",
    )
    p.add_argument(
        "-q",
        "--quiet",
        dest="quiet",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="only errors on stderr",
    )


def _scenario_args(p: argparse.ArgumentParser) -> None:
    from llmv2x.instances.generate import scenario_fields

    for name, typ, default in scenario_fields():
        p.add_argument(_flag(name), dest=name, type=typ, default=default, help=f"default {default}")


def _add_instance(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p_inst = sub.add_parser(
        "instance", help="generate, check or convert instance files", parents=[common]
    )
    p_inst.set_defaults(func=None, usage_of=p_inst)
    isub = p_inst.add_subparsers(dest="instance_command", metavar="{generate,check,convert}")
    p = isub.add_parser(
        "generate",
        help="write an instance of the default scenario (docs/choices.md section 11)",
        parents=[common],
        fill=_scenario_args,
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the scenario draw (default 0)")
    p.add_argument("--name", default=None, help="instance name (default paper-seed{seed})")
    for what, symbol, unit in (("deadline", "D", "T_n"), ("energy", "E", "E_n^V")):
        p.add_argument(
            f"--{what}-tightness",
            type=float,
            default=None,
            metavar=f"TAU_{symbol}",
            help=f"draw per-vehicle {what} limits TAU_{symbol} * {unit}(R) at the reference "
            "allocation R (>= 1: feasible; default none; docs/data-format.md)",
        )
    p.add_argument(
        "-o", "--output", required=True, help="instance file to write (.npz: binary, else JSON)"
    )
    p.set_defaults(func=c._cmd_generate)
    p_chk = isub.add_parser("check", help="validate an instance file", parents=[common])
    p_chk.add_argument("file", help="instance file, JSON or .npz (docs/data-format.md)")
    p_chk.set_defaults(func=c._cmd_check)
    p_cv = isub.add_parser(
        "convert",
        help="rewrite an instance file in another format (docs/data-format.md)",
        description="Read IN (JSON format 1 or 2, or .npz) and write OUT: .npz writes the "
        "binary container, anything else JSON format 2 unless --format 1.",
        parents=[common],
    )
    p_cv.add_argument("input", metavar="IN", help="instance file or built-in name")
    p_cv.add_argument("output", metavar="OUT", help="file to write (.npz: binary, else JSON)")
    p_cv.add_argument(
        "--format",
        type=int,
        choices=(1, 2),
        default=2,
        help="JSON format of OUT (default 2; 1 needs a link for every vehicle-RSU pair)",
    )
    p_cv.set_defaults(func=c._cmd_convert)


def _methods_epilog() -> str:
    from llmv2x.solvers.methods import DESCRIPTIONS, OPTIONS

    lines = ["methods (--method) and their options (--option NAME=VALUE):"]
    for name, text in DESCRIPTIONS.items():
        lines.append(f"  {name:8s} {text}")
        for o in OPTIONS.get(name, {}).values():
            kind = "|".join(o.choices) if o.choices else o.kind.__name__
            default = "" if o.default in (None, {}) else f" (default {o.default})"
            lines.append(f"    {o.name}={kind}{default}")
            lines.append(f"        {o.help}")
    lines.append("dict options (nlp_options, minlp_options) take JSON, e.g. "
                 "--option 'minlp_options={\"limits/nodes\": 1000}'.")  # fmt: skip
    return "\n".join(lines)


def add_problem_args(p: argparse.ArgumentParser) -> None:
    """--omega-t, --objective, --budgets, --association: which problem is solved or exported
    (docs/formulation.md#problem-variants)."""
    p.add_argument("--omega-t", type=float, default=0.5, help="weight of time, in [0, 1] (0.5)")
    p.add_argument(
        "--objective",
        default="paper",
        choices=("paper", "latency"),
        help="paper: eq. (10); latency: adds omega_t T^com per vehicle (default paper)",
    )
    p.add_argument(
        "--budgets",
        default="equality",
        choices=("equality", "inequality"),
        help="(10c) and (10e) as equalities (the paper, default) or inequalities",
    )
    p.add_argument(
        "--association",
        default="fixed",
        choices=("fixed", "decision"),
        help="the instance's RSU association (default) or one picked by the solve among "
        "each vehicle's links",
    )


def _settings_args(p: argparse.ArgumentParser) -> None:
    from llmv2x.solvers.registry import backend_names

    add_problem_args(p)
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help=(
            "wall-clock seconds for the whole solve; when time is up a method returns its"
            " best verified point with status time_limit"
        ),
    )
    for kind, role in (
        ("qp", "QP steps of AO's sub-problem I"),
        ("nlp", "sub-problem II (fractional programming)"),
        ("minlp", "method minlp"),
    ):
        names = backend_names(kind)
        p.add_argument(
            _flag(f"{kind}_backend"),
            dest=f"{kind}_backend",
            default=names[0],
            choices=names,
            help=f"backend of the {role} (default {names[0]}; `llmv2x solvers` shows which "
            "are installed)",
        )
    p.add_argument(
        "--formulation",
        default=None,
        choices=("plain", "strong"),
        help="method minlp: the formulation of P1 (= --option formulation=...)",
    )
    p.add_argument(
        "--recipe",
        default=None,
        choices=("improved", "paper"),
        help="method ao: improved (default) or the paper's plain recipe (= --option recipe=...)",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="method option, repeatable (e.g. --option max_rounds=3); an option the method "
        "does not read is an error",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of randomised methods")


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers", type=int, default=None, help="local processes (default: all cores; 1: serial)"
    )
    p.add_argument("--dask-scheduler", default=None, metavar="ADDRESS", help="run on this Dask")
    p.add_argument(
        "--dask-workers", type=int, default=None, metavar="N", help="local Dask cluster of N"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--retry-errors", action="store_true", help="solve the saved error rows again")


def _add_reproduce(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from llmv2x.experiments.sets import DEFAULT_OUTPUT, DEFAULT_SEEDS, SETS

    p = sub.add_parser(
        "reproduce", help="the paper's Figures 1 and 2, with their data", parents=[common]
    )
    p.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT}")
    p.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        help=f"scenario draws per set (default {DEFAULT_SEEDS})",
    )
    p.add_argument(
        "--sets", default=",".join(SETS), help=f"comma-separated from {','.join(SETS)} (all)"
    )
    _executor_args(p)
    p.set_defaults(func=c._cmd_reproduce)


def _add_sweep(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    from llmv2x.experiments.sets import OMEGA_T_GRID

    p = sub.add_parser(
        "sweep", help="instances x omega_t x methods x seeds -> one CSV table", parents=[common]
    )
    p.add_argument("files", nargs="*", help="instance files (default: generated scenario draws)")
    p.add_argument(
        "--seeds",
        type=int,
        default=None,
        help="without files: scenario draws 0..K-1, each solved with its own seed (default 20); "
        "with files: random seeds 0..K-1 for every file (default: the file's seed)",
    )
    p.add_argument(
        "--omega-t",
        default=",".join(f"{w:g}" for w in OMEGA_T_GRID),
        help="comma-separated weights of time (default the paper's grid)",
    )
    p.add_argument("--methods", default="ao,rlor,rrlo", help="comma-separated method names")
    p.add_argument(
        "--objective", default="paper", choices=("paper", "latency"), help="objective variant"
    )
    p.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="scenario override of generated instances, repeatable (noise_dbm_per_hz=-174)",
    )
    p.add_argument("-o", "--output", required=True, help="CSV table (resumed if it exists)")
    _executor_args(p)
    p.set_defaults(func=c._cmd_sweep)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``llmv2x`` command."""
    from llmv2x.solvers.methods import METHODS

    parser = _Parser(prog="llmv2x", description=DESCRIPTION)
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    _logging_args(parser, top=True)
    parser.set_defaults(func=None, usage_of=parser)
    common = argparse.ArgumentParser(add_help=False)
    _logging_args(common, top=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    _add_instance(sub, common)

    p_solve = sub.add_parser(
        "solve",
        help="solve an instance and write a result",
        parents=[common],
        epilog=_methods_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_solve.add_argument("file", help="instance file or built-in name (paper-seed0..9)")
    p_solve.add_argument(
        "--method", default="ao", choices=list(METHODS), help="method to run (default ao; below)"
    )
    _settings_args(p_solve)
    p_solve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="exact, equal, local, offload: solve RSU chunks on W workers (= --option workers=W)",
    )
    p_solve.add_argument(
        "--executor",
        choices=["serial", "process", "dask"],
        default=None,
        help="where the RSU chunks run (= --option executor=...; default process for W > 1)",
    )
    p_solve.add_argument(
        "-o",
        "--output",
        default=None,
        help="result file to write: .npz for the binary container, else JSON",
    )
    p_solve.set_defaults(func=c._cmd_solve)

    p_eval = sub.add_parser(
        "evaluate",
        help="re-check a result independently of the solver",
        description="Re-evaluate a result with the NumPy evaluator and print JSON (feasible, "
        "objective, max_violation, metrics). Exit 0 when the result is feasible and its "
        "recorded objective matches, 1 otherwise (docs/result-format.md).",
        parents=[common],
    )
    p_eval.add_argument("file", help="instance file or built-in name the result was solved for")
    p_eval.add_argument("result", help="result JSON file written by `llmv2x solve -o`")
    p_eval.set_defaults(func=c._cmd_evaluate)

    p_cmp = sub.add_parser(
        "compare",
        help="AO vs MINLP backends vs exact vs baselines",
        description="Solve one instance with AO, every available MINLP backend, the exact "
        "method and the baselines (on a problem variant: those that solve it); print a "
        "Markdown table and write it as CSV and Markdown.",
        parents=[common],
    )
    p_cmp.add_argument("file", help="instance file or built-in name (paper-seed0..9)")
    _settings_args(p_cmp)
    p_cmp.add_argument(
        "--minlp-backends", default=None, help="comma-separated (default: every available one)"
    )
    p_cmp.add_argument(
        "--methods",
        default=None,
        metavar="M1,M2,...",
        help="comma-separated methods to run (default: every one that solves the problem "
        "variant; a listed one that does not is refused)",
    )
    p_cmp.add_argument(
        "--formulations",
        default=None,
        metavar="F1,F2",
        help="method minlp: run each backend on each of these formulations (plain,strong); "
        "default: --formulation alone",
    )
    p_cmp.add_argument("-o", "--output-dir", default=".", help="folder for the CSV and Markdown")
    p_cmp.set_defaults(func=c._cmd_compare)

    p_demo = sub.add_parser(
        "demo", help="solve the default instance and print a summary", parents=[common]
    )
    p_demo.add_argument("--instance", default="paper-seed0", help="instance (default paper-seed0)")
    p_demo.add_argument("--omega-t", type=float, default=0.5, help="weight of time (0.5)")
    p_demo.set_defaults(func=c._cmd_demo)

    p_plot = sub.add_parser(
        "plot",
        help="draw a result: map, per-vehicle time and energy bars (docs/plotting.md)",
        description="Draw a result on its instance: a map of RSUs and vehicles (colour: split "
        "alpha, size: tokens; past 300 vehicles a density map), per-vehicle stacked bars of "
        "completion time and energy, and a title with the status, objective and bound. The "
        "format follows the suffix of -o: .png, .pdf or .svg (docs/plotting.md).",
        parents=[common],
    )
    p_plot.add_argument("file", help="instance file or built-in name the result was solved for")
    p_plot.add_argument("result", help="result JSON file written by `llmv2x solve -o`")
    p_plot.add_argument("-o", "--output", required=True, help="figure to write (.png, .pdf, .svg)")
    p_plot.add_argument(
        "--scale", default="auto", choices=["auto", "linear", "log"], help="bar axes (auto)"
    )
    p_plot.set_defaults(func=c._cmd_plot)

    _add_reproduce(sub, common)
    _add_sweep(sub, common)
    from llmv2x.export.cli import add_parser as _add_export  # light: argparse only

    _add_export(sub, common)
    from llmv2x.library.cli import add_parser as _add_library  # light: argparse only

    _add_library(sub, common)

    p_solvers = sub.add_parser(
        "solvers", help="which backends are available here", parents=[common]
    )
    p_solvers.set_defaults(func=c._cmd_solvers)
    return parser
