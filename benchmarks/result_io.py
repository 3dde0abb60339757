"""Write and read a result of N vehicles as JSON and as ``.npz``: wall time, size, memory.

Usage: ``.venv/bin/python benchmarks/result_io.py [N ...]`` (default 100000 1000000).
Each (N, format) runs in a fresh child process: one pass timed, a second pass under
tracemalloc for the peak of Python allocations (NumPy's included) of the write and of the
read. The Result is built from random arrays (no solve); the round trip is checked exact.
Prints a Markdown table; not a test (docs/result-format.md#binary).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def _child(n: int, fmt: str) -> dict[str, float]:
    import numpy as np

    from llmv2x.models.allocation import Allocation
    from llmv2x.results import Result

    rng = np.random.default_rng(0)
    alloc = Allocation(
        rng.integers(1, 33, n).astype(float),
        rng.uniform(0.1, 1.0, n),
        rng.uniform(1e5, 1e7, n),
        rng.uniform(1e8, 1e9, n),
        rng.uniform(1e8, 1e9, n),
    )
    metrics = {"energy_j": 1.5, "compute_time_s": 2.5}
    res = Result("bench", "exact", "paper", 0.5, "optimal", 3.5, 3.5, alloc, metrics, 1.0)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"r.{fmt}"
        t0 = time.perf_counter()
        res.save(path)
        t1 = time.perf_counter()
        back = Result.load(path)
        t2 = time.perf_counter()
        out.update(write_s=t1 - t0, read_s=t2 - t1, size_mb=path.stat().st_size / 1e6)
        for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
            assert np.array_equal(getattr(back.allocation, k), getattr(alloc, k)), k
        out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        del back
        tracemalloc.start()
        res.save(path)
        out["write_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.reset_peak()
        Result.load(path)
        out["read_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return out


def main(sizes: list[int]) -> None:
    """Print the table for each N in ``sizes``."""
    print("| N | format | file MB | write s | read s | peak MB write | peak MB read | max RSS MB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for n in sizes:
        for fmt in ("json", "npz"):
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(n), fmt],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(proc.stdout)
            print(
                f"| {n:,} | {fmt} | {r['size_mb']:.1f} | {r['write_s']:.2f} | {r['read_s']:.2f} "
                f"| {r['write_peak_mb']:.0f} | {r['read_peak_mb']:.0f} | {r['maxrss_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(_child(int(sys.argv[2]), sys.argv[3])))
    else:
        main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
