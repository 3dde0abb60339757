"""The commands of ``llmv2x``: each reads its arguments, calls the library, prints (docs/cli.md).

Heavy modules (Pyomo, pandas, matplotlib) are imported inside the command that needs them,
so ``llmv2x --help`` and light commands start fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from llmv2x.cli.output import _write_atomic, summary
from llmv2x.errors import LlmV2xError


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
