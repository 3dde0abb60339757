"""Command line of llmv2x (docs/cli.md): argument parsing and error-to-exit-code mapping."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from llmv2x.errors import LlmV2xError

EXIT_USER_ERROR = 2


def _write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then rename."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise LlmV2xError(f"{path}: folder {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (docs/cli.md): no usage block on a bad argument."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    from llmv2x.instances.generate import scenario_fields

    p = sub.add_parser("generate", help="write an instance of the default scenario (docs/choices.md section 11)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default=None, help="instance name (default paper-seed{seed})")
    for name, typ, default in scenario_fields():
        p.add_argument(_flag(name), dest=name, type=typ, default=default, help=f"default {default}")
    p.add_argument("-o", "--output", required=True, help="instance JSON file to write")


def _cmd_generate(args: argparse.Namespace) -> int:
    from llmv2x.instances.generate import generate_instance, scenario_fields

    overrides = {name: getattr(args, name) for name, _, _ in scenario_fields()}
    try:
        inst = generate_instance(seed=args.seed, name=args.name, **overrides)
    except ValueError as exc:
        raise LlmV2xError(f"generate: {exc}") from None
    _write_atomic(args.output, inst.to_json() + "\n")
    print(f"wrote {args.output}: {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from llmv2x.instances import load_instance

    inst = load_instance(args.file)
    counts = [len(v) for v in inst.members]
    print(
        f"{inst.name}: valid, {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs "
        f"(vehicles per RSU: {counts})"
    )
    return 0


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


def _parse_value(text: str) -> object:
    """An option value: int, float, true/false, or the string itself."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _settings(args: argparse.Namespace):
    from llmv2x.settings import SolveSettings

    options: dict[str, object] = {}
    for item in getattr(args, "option", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LlmV2xError(f"--option: {item!r} is not KEY=VALUE")
        options[key.strip().replace("-", "_")] = _parse_value(value.strip())
    if getattr(args, "formulation", None):
        options["formulation"] = args.formulation
    if getattr(args, "recipe", None):
        options["recipe"] = args.recipe
    return SolveSettings(
        omega_t=args.omega_t,
        objective=args.objective,
        time_limit=args.time_limit,
        qp_backend=args.qp_backend,
        nlp_backend=args.nlp_backend,
        minlp_backend=args.minlp_backend,
        seed=args.seed,
        verbose=args.verbose,
        options=options,
    )


def _cmd_solve(args: argparse.Namespace) -> int:
    from llmv2x.api import solve
    from llmv2x.instances import load_instance

    settings = _settings(args)
    inst = load_instance(args.file)
    if args.output and not Path(args.output).parent.exists():
        raise LlmV2xError(f"-o: folder {Path(args.output).parent} does not exist")
    res = solve(inst, method=args.method, settings=settings)
    if args.output:
        _write_atomic(args.output, res.to_json() + "\n")
    print(summary(inst, res))
    return 0 if res.ok else 1


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from llmv2x.instances import load_instance
    from llmv2x.models.evaluator import evaluate
    from llmv2x.results import Result
    from llmv2x.settings import SolveSettings

    inst = load_instance(args.file)
    res = Result.load(args.result)
    if res.allocation is None:
        print(
            json.dumps({"feasible": False, "objective": None, "max_violation": None, "metrics": {}})
        )
        return 1
    if len(res.allocation.alpha) != inst.n_vehicles:
        raise LlmV2xError(
            f"alpha: result has {len(res.allocation.alpha)} vehicles, instance {inst.n_vehicles}"
        )
    settings = SolveSettings(omega_t=res.omega_t, objective=res.objective_variant)
    ev = evaluate(inst, res.allocation, settings)
    out = {
        "feasible": bool(ev.feasible),
        "objective": ev.objective,
        "max_violation": ev.max_violation,
        "metrics": ev.metrics,
    }
    print(json.dumps(out))
    recorded = res.objective
    matches = recorded is not None and abs(recorded - ev.objective) <= 1e-9 * max(
        1.0, abs(ev.objective)
    )
    return 0 if ev.feasible and matches else 1


def summary(inst, res) -> str:
    """A readable multi-line summary of a result."""
    lines = [
        f"instance {inst.name}: {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs, "
        f"{inst.layers} layers",
        f"method {res.method} ({res.objective_variant}, omega_t={res.omega_t:g}): "
        f"status {res.status}, {res.iterations} iterations, {res.solve_time_s:.3f} s",
    ]
    if res.solvers:
        lines.append("solvers: " + ", ".join(f"{k}={v}" for k, v in res.solvers.items()))
    if res.message:
        lines.append(f"note: {res.message}")
    if res.allocation is None:
        return "\n".join(lines)
    lb = "n/a" if res.lower_bound is None else f"{res.lower_bound:.9g}"
    lines.append(f"objective {res.objective:.9g}   proven lower bound {lb}")
    a = res.allocation
    lines.append(" n  rsu alpha     p_W     b_MHz  fV_GHz  fR_GHz")
    for n in range(inst.n_vehicles if inst.n_vehicles <= 40 else 40):
        lines.append(
            f"{n:2d} {int(inst.association[n]):4d} {int(round(a.alpha[n])):5d} "
            f"{a.p_w[n]:7.3f} {a.b_hz[n] / 1e6:9.4f} {a.f_vehicle_hz[n] / 1e9:7.4f} "
            f"{a.f_rsu_hz[n] / 1e9:7.4f}"
        )
    if inst.n_vehicles > 40:
        lines.append(f"... ({inst.n_vehicles - 40} more vehicles)")
    lines.append("metrics: " + ", ".join(f"{k}={v:.6g}" for k, v in res.metrics.items()))
    return "\n".join(lines)


def _cmd_demo(args: argparse.Namespace) -> int:
    from llmv2x.api import solve
    from llmv2x.instances import load_instance
    from llmv2x.solvers.methods import available_methods

    inst = load_instance(args.instance)
    method = "ao" if "ao" in available_methods() else "initial"
    res = solve(inst, method=method, omega_t=args.omega_t)
    print(summary(inst, res))
    return 0 if res.ok else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from llmv2x.experiments.compare import compare, to_markdown, write_tables
    from llmv2x.instances import load_instance

    settings = _settings(args)
    if settings.time_limit is None:
        settings = settings.with_(time_limit=60.0)
    inst = load_instance(args.file)
    backends = args.minlp_backends.split(",") if args.minlp_backends else None
    df = compare(inst, settings, backends)
    print(to_markdown(df.drop(columns=["message"])))
    csv, md = write_tables(df, args.output_dir, f"compare-{inst.name}")
    print(f"wrote {csv} and {md}")
    return 0


def _cmd_solvers(args: argparse.Namespace) -> int:
    from llmv2x.solvers.registry import availability_table

    print(availability_table())
    return 0


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
    p.set_defaults(func=_cmd_reproduce)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from llmv2x.experiments.reproduce import reproduce

    report = reproduce(
        args.output_dir,
        seeds=args.seeds,
        sets=args.sets,
        workers=args.workers,
        dask_scheduler=args.dask_scheduler,
        dask_workers=args.dask_workers,
        progress=not args.no_progress,
    )
    for name, r in report.items():
        errors = f", {r['errors']} failed solves (see claims.md)" if r["errors"] else ""
        print(f"{name}: {len(r['table'])} solves in {r['seconds']:.0f} s{errors}")
        print("  " + " ".join(str(f) for f in r["files"] if f.suffix in (".png", ".csv", ".md")))
    return 0


def _float_list(text: str, what: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise LlmV2xError(f"{what}: {text!r} is not a comma-separated list of numbers") from None


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
    p.set_defaults(func=_cmd_sweep)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from llmv2x.experiments.sweep import InstanceSpec, Study, paper_study, run_study
    from llmv2x.instances.generate import scenario_fields

    omega_t = _float_list(args.omega_t, "--omega-t")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.seeds is not None and args.seeds < 1:
        raise LlmV2xError(f"--seeds: {args.seeds} must be at least 1")
    types = {name: typ for name, typ, _ in scenario_fields()}
    scenario: dict[str, object] = {}
    for item in args.scenario:
        key, sep, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in types:
            raise LlmV2xError(f"--scenario: {item!r} is not KEY=VALUE with KEY a scenario field")
        try:
            scenario[key] = types[key](value)
        except ValueError:
            raise LlmV2xError(
                f"--scenario: {key}: {value!r} is not a {types[key].__name__}"
            ) from None
    if args.files:
        if scenario:
            raise LlmV2xError("--scenario applies to generated instances, not to files")
        specs = tuple(InstanceSpec.from_file(f) for f in args.files)
        seeds = tuple(range(args.seeds)) if args.seeds is not None else None
        study = Study(specs, tuple(omega_t), tuple(methods), seeds, args.objective)
    else:
        k = 20 if args.seeds is None else args.seeds
        study = paper_study(k, omega_t, methods, args.objective, **scenario)
    df = run_study(
        study,
        args.output,
        workers=args.workers,
        dask_scheduler=args.dask_scheduler,
        dask_workers=args.dask_workers,
        progress=not args.no_progress,
        retry_errors=args.retry_errors,
    )
    counts = ", ".join(f"{k} {v}" for k, v in df["status"].value_counts().items())
    print(f"wrote {args.output}: {len(df)} solves ({counts})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``llmv2x`` command."""
    parser = _Parser(prog="llmv2x", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p_inst = sub.add_parser("instance", help="generate or check instance files")
    isub = p_inst.add_subparsers(dest="instance_command", required=True)
    _add_generate(isub)
    p_chk = isub.add_parser("check", help="validate an instance file")
    p_chk.add_argument("file")
    p_chk.set_defaults(func=_cmd_check)
    isub.choices["generate"].set_defaults(func=_cmd_generate)

    p_solve = sub.add_parser("solve", help="solve an instance and write a result")
    p_solve.add_argument("file", help="instance file or built-in name (paper-seed0)")
    p_solve.add_argument("--method", default="ao")
    _settings_args(p_solve)
    p_solve.add_argument("-o", "--output", default=None, help="result JSON file to write")
    p_solve.set_defaults(func=_cmd_solve)

    p_eval = sub.add_parser("evaluate", help="re-check a result independently of the solver")
    p_eval.add_argument("file")
    p_eval.add_argument("result")
    p_eval.set_defaults(func=_cmd_evaluate)

    p_cmp = sub.add_parser("compare", help="AO vs MINLP backends vs exact vs baselines")
    p_cmp.add_argument("file")
    _settings_args(p_cmp)
    p_cmp.add_argument(
        "--minlp-backends", default=None, help="comma-separated (default: every available one)"
    )
    p_cmp.add_argument("-o", "--output-dir", default=".", help="folder for the CSV and Markdown")
    p_cmp.set_defaults(func=_cmd_compare)

    p_demo = sub.add_parser("demo", help="solve the default instance and print a summary")
    p_demo.add_argument("--instance", default="paper-seed0")
    p_demo.add_argument("--omega-t", type=float, default=0.5)
    p_demo.set_defaults(func=_cmd_demo)

    _add_reproduce(sub)
    _add_sweep(sub)

    p_solvers = sub.add_parser("solvers", help="which backends are available here")
    p_solvers.set_defaults(func=_cmd_solvers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run a command; a user's mistake becomes one line on stderr and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
