"""The commands of ``llmv2x``: each reads its arguments, calls the library, prints (docs/cli.md).

Heavy modules (Pyomo, pandas, matplotlib) are imported inside the command that needs them,
so ``llmv2x --help`` and light commands start fast.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from llmv2x.cli.output import (
    check_output_dir,
    check_output_file,
    results_only_on_stdout,
    summary,
)
from llmv2x.errors import LlmV2xError


def _cmd_generate(args: argparse.Namespace) -> int:
    from llmv2x.instances.generate import (
        binding_at_reference,
        generate_instance,
        scenario_fields,
        violated_at_reference,
    )

    check_output_file(args.output)
    overrides = {name: getattr(args, name) for name, _, _ in scenario_fields()}
    tight = {
        "deadline_tightness": getattr(args, "deadline_tightness", None),
        "energy_tightness": getattr(args, "energy_tightness", None),
    }
    try:
        inst = generate_instance(seed=args.seed, name=args.name, **tight, **overrides)
    except ValueError as exc:
        raise LlmV2xError(f"generate: {exc}") from None
    inst.save(args.output)
    print(f"wrote {args.output}: {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs")
    if inst.has_deadlines or inst.has_energy_budgets:
        deadlines, energy = binding_at_reference(inst)
        parts = []
        if inst.has_deadlines:
            parts.append(f"{deadlines} of {inst.n_vehicles} deadlines")
        if inst.has_energy_budgets:
            parts.append(f"{energy} of {inst.n_vehicles} energy budgets")
        print(f"binding at the reference allocation: {', '.join(parts)}")
        kinds = ("deadlines", "energy budgets")
        broken = dict(zip(kinds, violated_at_reference(inst), strict=True))
        if any(broken.values()):
            said = ", ".join(f"{k} of {inst.n_vehicles} {w}" for w, k in broken.items() if k)
            print(
                f"violated at the reference allocation: {said} (tightness below 1: the "
                "instance may be infeasible)"
            )
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from llmv2x.instances import load_instance
    from llmv2x.instances.binary import is_binary_path

    check_output_file(args.output, "OUT")
    inst = load_instance(args.input)
    if is_binary_path(args.output) and args.format != 2:
        raise LlmV2xError("--format 1 applies to JSON; the .npz container holds format 2")
    inst.save(args.output, format=args.format)
    kind = "binary container" if is_binary_path(args.output) else f"JSON format {args.format}"
    print(
        f"wrote {args.output} ({kind}): {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs, "
        f"{inst.n_links} links"
    )
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    import numpy as np

    from llmv2x.instances import load_instance

    inst = load_instance(args.file)
    counts = np.bincount(inst.association, minlength=inst.n_rsus)
    if inst.n_rsus <= 50:
        per_rsu = str(counts.tolist())
    else:  # a list of 250,000 counts is no summary
        per_rsu = f"min {counts.min()}, mean {counts.mean():.3g}, max {counts.max()}"
    links = "" if inst.is_dense else f", {inst.n_links} links"
    print(
        f"{inst.name}: valid, {inst.n_vehicles} vehicles, {inst.n_rsus} RSUs{links} "
        f"(vehicles per RSU: {per_rsu})"
    )
    return 0


def _parse_value(text: str) -> object:
    """An option value: int, float, true/false, JSON ({...}, [...]), or the string itself."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if text[:1] in ("{", "["):
        from llmv2x.jsonio import loads_strict

        return loads_strict(text, "--option value")
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def _settings(args: argparse.Namespace) -> Any:
    """SolveSettings from the flags of ``solve`` and ``compare``."""
    from llmv2x.settings import SolveSettings

    options: dict[str, object] = {}
    for item in getattr(args, "option", []) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LlmV2xError(f"--option: {item!r} is not NAME=VALUE")
        options[key.strip().replace("-", "_")] = _parse_value(value.strip())
    if getattr(args, "formulation", None):
        options["formulation"] = args.formulation
    if getattr(args, "recipe", None):
        options["recipe"] = args.recipe
    for key in ("workers", "executor"):  # solve only: RSU chunks (llmv2x.solvers.chunks)
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    return SolveSettings(
        omega_t=args.omega_t,
        objective=args.objective,
        budgets=args.budgets,
        association=args.association,
        time_limit=args.time_limit,
        qp_backend=args.qp_backend,
        nlp_backend=args.nlp_backend,
        minlp_backend=args.minlp_backend,
        seed=args.seed,
        verbose=getattr(args, "verbosity", 0) >= 1 and not getattr(args, "quiet", False),
        options=options,
    )


def _cmd_solve(args: argparse.Namespace) -> int:
    from llmv2x.api import solve
    from llmv2x.instances import load_instance

    settings = _settings(args)
    if args.output:
        check_output_file(args.output)
    inst = load_instance(args.file)
    with results_only_on_stdout():
        res = solve(inst, method=args.method, settings=settings)
    if args.output:
        res.save(args.output)
    print(summary(inst, res))
    return 0 if res.ok else 1


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from llmv2x.instances import load_instance
    from llmv2x.results import Result, audit

    inst = load_instance(args.file)
    found = audit(inst, Result.load(args.result))
    print(json.dumps(found.to_dict(), allow_nan=False))
    return 0 if found.ok else 1


def _cmd_plot(args: argparse.Namespace) -> int:
    from llmv2x.instances import load_instance
    from llmv2x.plot import FORMATS, plot_result, save_figure
    from llmv2x.results import Result

    if not str(args.output).lower().endswith(FORMATS):
        raise LlmV2xError(f"-o: {args.output}: use a .png, .pdf or .svg file name")
    check_output_file(args.output)
    inst = load_instance(args.file)
    fig = plot_result(inst, Result.load(args.result), scale=args.scale)
    save_figure(fig, args.output)
    print(f"wrote {args.output}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from llmv2x.api import solve
    from llmv2x.instances import load_instance
    from llmv2x.solvers.methods import available_methods

    inst = load_instance(args.instance)
    method = "ao" if "ao" in available_methods() else "initial"
    with results_only_on_stdout():
        res = solve(inst, method=method, omega_t=args.omega_t)
    print(summary(inst, res))
    return 0 if res.ok else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from llmv2x.experiments.compare import compare, to_markdown, write_tables
    from llmv2x.instances import load_instance
    from llmv2x.solvers.registry import backend_names

    settings = _settings(args)
    _check_compare_options(settings.options)
    if settings.time_limit is None:
        settings = settings.with_(time_limit=60.0)
    check_output_dir(args.output_dir, "--output-dir")
    backends = None
    if args.minlp_backends:
        backends = [b.strip() for b in args.minlp_backends.split(",") if b.strip()]
        bad = [b for b in backends if b not in backend_names("minlp")]
        if bad:
            raise LlmV2xError(
                f"--minlp-backends: {', '.join(bad)} not among {', '.join(backend_names('minlp'))}"
            )
    methods = _name_list(args.methods)
    formulations = _name_list(args.formulations)
    if formulations is not None:
        if args.formulation:
            raise LlmV2xError("--formulation and --formulations: give one of them")
        bad = [f for f in formulations if f not in ("plain", "strong")]
        if bad:
            raise LlmV2xError(f"--formulations: {', '.join(bad)} not among plain, strong")
    inst = load_instance(args.file)
    with results_only_on_stdout():
        df = compare(inst, settings, backends, methods, formulations)
    print(to_markdown(df.drop(columns=["message"])))
    skipped = df.attrs.get("skipped") or {}
    if skipped:
        print(f"not run (they do not solve this problem variant): {', '.join(skipped)}")
    csv, md = write_tables(df, args.output_dir, f"compare-{inst.name}")
    print(f"wrote {csv} and {md}")
    return 0


def _name_list(text: str | None) -> list[str] | None:
    """``a, b,c`` -> ``["a", "b", "c"]``; None stays None."""
    if text is None:
        return None
    return [x.strip() for x in text.split(",") if x.strip()]


def _check_compare_options(options: dict[str, Any]) -> None:
    """compare runs several methods: each option must be read by at least one of them."""
    from llmv2x.solvers.methods import OPTIONS, unknown_name_error

    declared = {o.name: (m, o) for m, opts in OPTIONS.items() for o in opts.values()}
    for name, value in options.items():
        if name not in declared:
            raise unknown_name_error("option", name, "compare", sorted(declared))
        method, opt = declared[name]
        opt.check(value, method)


def _cmd_solvers(args: argparse.Namespace) -> int:
    from llmv2x.solvers.registry import availability_table

    print(availability_table())
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from llmv2x.experiments.reproduce import reproduce

    check_output_dir(args.output_dir, "--output-dir")
    with results_only_on_stdout():
        report = reproduce(
            args.output_dir,
            seeds=args.seeds,
            sets=args.sets,
            workers=args.workers,
            dask_scheduler=args.dask_scheduler,
            dask_workers=args.dask_workers,
            progress=not args.no_progress,
            retry_errors=args.retry_errors,
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

    check_output_file(args.output)
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
    with results_only_on_stdout():
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
