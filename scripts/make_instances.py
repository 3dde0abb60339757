"""Write the benchmark instance files of ``instances/`` (deterministic; safe to re-run).

Run from anywhere: ``python scripts/make_instances.py [--out DIR] [--check]``. Every file is
drawn with `llmv2x.instances.generate_instance` from a fixed seed. The committed files are the
source of truth for the named instances (docs/data-format.md): NumPy and libm may differ in
the last digit of a float between CPUs and builds, so a file is rewritten only when the
regenerated instance differs from it by more than ``RTOL`` relative in some float (or in any
key, integer or string). ``--check`` writes nothing and exits 1 if a file is stale or missing.

* ``paper-seed0`` ... ``paper-seed9``: the default scenario (docs/choices.md section 11),
  N = 20, M = 5;
* ``small-seed0`` ... ``small-seed4``: N = 6, M = 2, for quick checks and exact solves;
* ``medium``: N = 200, M = 20, seed 100;
* ``large``: N = 1000, M = 50, seed 1000, for build-time and scaling benchmarks.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llmv2x.errors import LlmV2xError
from llmv2x.instances import Instance, generate_instance

ROOT = Path(__file__).resolve().parent.parent
#: Relative tolerance on floats when a committed file is compared with its regeneration.
RTOL = 1e-12


def benchmark_instances() -> Iterator[Instance]:
    """Yield every benchmark instance, in file order."""
    for s in range(10):
        yield generate_instance(seed=s)
    for s in range(5):
        yield generate_instance(seed=s, name=f"small-seed{s}", vehicles=6, rsus=2)
    yield generate_instance(seed=100, name="medium", vehicles=200, rsus=20)
    yield generate_instance(seed=1000, name="large", vehicles=1000, rsus=50)


def first_difference(a: Any, b: Any, rtol: float = RTOL, path: str = "$") -> str | None:
    """The first difference between two parsed JSON trees, naming its path, or None.

    Keys, lengths, strings, booleans and integers must match exactly; floats to ``rtol``.
    """
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} vs {list(b)}"
        pairs = [(f"{path}.{k}", a[k], b[k]) for k in a]
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} vs {len(b)} items"
        pairs = [(f"{path}[{i}]", x, y) for i, (x, y) in enumerate(zip(a, b, strict=True))]
    elif type(a) is float and type(b) is float:
        return None if math.isclose(a, b, rel_tol=rtol, abs_tol=0.0) else f"{path}: {a!r} vs {b!r}"
    else:
        return None if type(a) is type(b) and a == b else f"{path}: {a!r} vs {b!r}"
    for sub, x, y in pairs:
        diff = first_difference(x, y, rtol, sub)
        if diff:
            return diff
    return None


def stale_reason(path: Path, inst: Instance, rtol: float = RTOL) -> str | None:
    """Why the file at ``path`` does not hold ``inst`` (to ``rtol``), or None if it does."""
    if not path.exists():
        return "missing"
    try:
        text = path.read_text()
        committed = json.loads(text)
        if text != Instance.from_json(text).to_json() + "\n":
            return "not in the layout Instance.save writes"
    except (OSError, ValueError, LlmV2xError) as exc:
        return f"unreadable: {exc}"
    return first_difference(committed, json.loads(inst.to_json()), rtol)


def write_instances(out_dir: Path, check: bool = False) -> dict[Path, str | None]:
    """Write each stale or missing benchmark instance as ``<name>.json`` into ``out_dir``.

    Returns every path with the reason it was (or, with ``check``, would be) written, None
    for a file kept because it matches its regeneration to ``RTOL``.
    """
    if not check:
        out_dir.mkdir(parents=True, exist_ok=True)
    report = {}
    for inst in benchmark_instances():
        path = out_dir / f"{inst.name}.json"
        reason = stale_reason(path, inst)
        if reason and not check:
            inst.save(path)
        report[path] = reason
    return report


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "instances", help="output folder")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a file is stale"
    )
    args = parser.parse_args(argv)
    report = write_instances(args.out, check=args.check)
    for path, reason in report.items():
        verb = ("stale" if args.check else "written") if reason else "up to date"
        print(f"{path}  {verb}" + (f" ({reason})" if reason else ""))
    return 1 if args.check and any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
