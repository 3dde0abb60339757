"""Defects found by trying the package from outside (second round), each through the CLI.

Each test failed before its fix: a FIFO or device replaced by ``-o``; ``plot`` drawing a
result of another instance or an infeasible point; ``evaluate`` calling a point feasible
although it breaks the instance's deadlines (recorded as a problem without deadlines); an
association index out of range giving NaN instead of a one-line error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from llmv2x.instances import generate_instance, load_instance

LLMV2X = Path(sys.executable).parent / "llmv2x"


def run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LLMV2X), *map(str, args)], capture_output=True, text=True, timeout=300
    )


def one_line(proc: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("round2")
    inst = folder / "inst.json"
    generate_instance(seed=4, name="round2", vehicles=6, rsus=2).save(inst)
    res = folder / "exact.json"
    assert run("solve", inst, "--method", "exact", "-o", res).returncode == 0
    return folder, inst, res


def test_a_fifo_target_is_refused_not_replaced(solved):
    folder, inst, _ = solved
    fifo = folder / "fifo.json"
    os.mkfifo(fifo)
    one_line(run("solve", inst, "--method", "exact", "-o", fifo), 2, "not a regular file")
    assert not fifo.is_file() and fifo.exists()  # still a FIFO
    one_line(run("instance", "convert", inst, fifo), 2, "not a regular file")


def test_plot_refuses_a_result_of_another_instance(tmp_path):
    res = tmp_path / "s1.json"
    assert run("solve", "paper-seed1", "--method", "exact", "-o", res).returncode == 0
    out = tmp_path / "a.png"  # paper-seed0 has as many vehicles: only the name tells
    one_line(run("plot", "paper-seed0", res, "-o", out), 2, "cannot draw", "instance")
    assert not out.exists()


def test_plot_refuses_an_infeasible_point(solved, tmp_path):
    _, inst, res = solved
    d = json.loads(res.read_text())
    d["alpha"][0] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    one_line(run("plot", inst, bad, "-o", tmp_path / "b.png"), 2, "cannot draw", "infeasible")


def test_an_association_index_out_of_range_is_one_line_exit_2(solved, tmp_path):
    _, inst, res = solved
    d = json.loads(res.read_text())
    d["association"][0] = 99
    bad = tmp_path / "oob.json"
    bad.write_text(json.dumps(d))
    one_line(run("evaluate", inst, bad), 2, "association[0]", "RSU 99")


def test_evaluate_checks_the_instances_deadlines_whatever_the_result_recorded(solved, tmp_path):
    _, inst_path, res = solved
    d = load_instance(inst_path).to_dict(format=2)
    d["vehicles"]["deadline_s"] = [1e-3] + [None] * 5  # vehicle 0 cannot make it
    with_deadline = tmp_path / "dl.json"
    with_deadline.write_text(json.dumps(d))
    proc = run("evaluate", with_deadline, res)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["feasible"] is False
    assert any("deadline[0]" in p for p in out["problems"]), out["problems"]
    assert np.isfinite(out["objective"])


def test_a_compressed_column_far_longer_than_its_group_is_refused_before_reading(tmp_path):
    """A 3 MB .npz holding 4e8 compressed zeros in one column took 4.7 GB and 18 s."""
    inst = load_instance("paper-seed0")
    path = tmp_path / "bomb.npz"
    inst.save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["vehicles.x_m"] = np.zeros(20_000_000)  # 160 MB once read, ~160 kB compressed
    np.savez_compressed(path, **arrays)
    assert path.stat().st_size < 2_000_000
    proc = run("instance", "check", path)
    one_line(proc, 2, "vehicles.x_m: 20000000 entries where the other vehicles entries have 20")


def test_a_result_given_as_instance_and_the_reverse_say_so(solved, tmp_path):
    _, inst, res = solved
    res_npz, inst_npz = tmp_path / "r.npz", tmp_path / "i.npz"
    assert run("solve", inst, "--method", "exact", "-o", res_npz).returncode == 0
    assert run("instance", "convert", inst, inst_npz).returncode == 0
    one_line(run("evaluate", inst, inst_npz), 2, "looks like an instance file")
    one_line(run("instance", "check", res_npz), 2, "looks like a result file")
    one_line(run("instance", "check", res), 2, "looks like a result file")
    one_line(run("evaluate", inst, inst), 2, "looks like an instance file")


def test_a_dask_scheduler_without_the_dask_executor_is_refused(solved):
    _, inst, _ = solved
    proc = run("solve", inst, "--method", "exact", "--option", "dask_scheduler=tcp://127.0.0.1:1")
    one_line(proc, 2, "dask_scheduler: only read with executor dask")


def test_pool_workers_ignore_ctrl_c_so_the_parent_reports_it_once():
    import signal

    from llmv2x.solvers.chunks import _ignore_sigint

    old = signal.getsignal(signal.SIGINT)
    try:
        _ignore_sigint()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
