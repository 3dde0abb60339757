"""Write the benchmark instance files of ``instances/`` (deterministic; safe to re-run).

Run from anywhere: ``python scripts/make_instances.py [--out DIR]``. Every file is drawn
with :func:`llmv2x.instances.generate_instance` from a fixed seed, so re-running rewrites
byte-identical files.

* ``paper-seed0`` ... ``paper-seed9``: the default scenario (docs/choices.md section 11), N = 20, M = 5;
* ``small-seed0`` ... ``small-seed4``: N = 6, M = 2, for quick checks and exact solves;
* ``medium``: N = 200, M = 20, seed 100;
* ``large``: N = 1000, M = 50, seed 1000, for build-time and scaling benchmarks.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from llmv2x.instances import Instance, generate_instance

ROOT = Path(__file__).resolve().parent.parent


def benchmark_instances() -> Iterator[Instance]:
    """Yield every benchmark instance, in file order."""
    for s in range(10):
        yield generate_instance(seed=s)
    for s in range(5):
        yield generate_instance(seed=s, name=f"small-seed{s}", vehicles=6, rsus=2)
    yield generate_instance(seed=100, name="medium", vehicles=200, rsus=20)
    yield generate_instance(seed=1000, name="large", vehicles=1000, rsus=50)


def write_instances(out_dir: Path) -> list[Path]:
    """Write every benchmark instance as ``<name>.json`` into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for inst in benchmark_instances():
        path = out_dir / f"{inst.name}.json"
        inst.save(path)
        paths.append(path)
    return paths


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "instances", help="output folder")
    args = parser.parse_args()
    for path in write_instances(args.out):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
