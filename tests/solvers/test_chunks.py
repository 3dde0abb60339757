"""Method exact on RSU chunks (llmv2x.solvers.chunks): the plan, and the same answer as one
piece on every executor (a real spawn process pool and a real local Dask cluster)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import llmv2x
from llmv2x.errors import LlmV2xError
from llmv2x.instances import generate_instance
from llmv2x.settings import SolveSettings
from llmv2x.solvers.chunks import map_chunks, plan_chunks, solve_exact_chunked
from llmv2x.solvers.exact import solve_exact

HAVE_DASK = importlib.util.find_spec("distributed") is not None


@pytest.fixture(scope="module")
def city():
    """200 vehicles, 50 RSUs, 8 links each: sparse enough that some RSUs serve nobody."""
    return generate_instance(seed=7, name="city", vehicles=200, rsus=50, links=8)


@pytest.fixture(scope="module")
def whole(city):
    return solve_exact(city, SolveSettings(omega_t=0.5))


def _same(a, b):
    """Same alpha exactly, same objective and bound to 1e-12, same point to 1e-12."""
    assert a.status == b.status == "optimal"
    np.testing.assert_array_equal(a.allocation.alpha, b.allocation.alpha)
    assert b.objective == pytest.approx(a.objective, rel=1e-12)
    assert b.lower_bound == pytest.approx(a.lower_bound, rel=1e-12)
    for key in ("p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
        np.testing.assert_allclose(
            getattr(b.allocation, key), getattr(a.allocation, key), rtol=1e-12, err_msg=key
        )


def test_plan_covers_every_vehicle_and_rsu_once(city):
    chunks = plan_chunks(city, chunk_vehicles=30)
    assert len(chunks) > 3
    vehicles = np.concatenate([c.vehicles for c in chunks])
    rsus = np.concatenate([c.rsus for c in chunks])
    np.testing.assert_array_equal(np.sort(vehicles), np.arange(city.n_vehicles))
    np.testing.assert_array_equal(rsus, np.arange(city.n_rsus))
    for c in chunks:
        assert np.all(np.isin(city.association[c.vehicles], c.rsus))  # an RSU is never split
        assert np.all(np.diff(c.vehicles) > 0)  # vehicles keep their order


def test_an_rsu_larger_than_the_chunk_size_is_a_chunk_of_its_own(city):
    chunks = plan_chunks(city, chunk_vehicles=1)
    for c in chunks:
        served = np.unique(city.association[c.vehicles])
        assert len(served) <= 1
    assert sum(len(c.vehicles) for c in chunks) == city.n_vehicles


def test_plan_refuses_an_empty_chunk_size(city):
    with pytest.raises(LlmV2xError, match="chunk_vehicles"):
        plan_chunks(city, chunk_vehicles=0)


@pytest.mark.parametrize("objective", ["paper", "latency"])
def test_serial_chunks_give_the_whole_solve(city, objective):
    settings = SolveSettings(omega_t=0.5, objective=objective)
    a = solve_exact(city, settings)
    b = solve_exact_chunked(city, settings.with_(options={"chunk_vehicles": 25}))
    assert int(b.solvers["chunks"]) > 5
    _same(a, b)


def test_process_pool_chunks_give_the_whole_solve(city, whole):
    opts = {"workers": 2, "executor": "process", "chunk_vehicles": 40}
    b = solve_exact_chunked(city, SolveSettings(omega_t=0.5, options=opts))
    assert b.solvers["executor"] == "process x2"
    _same(whole, b)


@pytest.mark.skipif(not HAVE_DASK, reason="dask.distributed is not installed")
def test_dask_chunks_give_the_whole_solve(city, whole):
    opts = {"workers": 2, "executor": "dask", "chunk_vehicles": 40}
    b = solve_exact_chunked(city, SolveSettings(omega_t=0.5, options=opts))
    assert b.solvers["executor"] == "dask x2"
    _same(whole, b)


def test_method_exact_takes_the_chunk_options(city, whole):
    b = llmv2x.solve(city, method="exact", omega_t=0.5, chunk_vehicles=60)
    assert b.solvers["executor"] == "serial x1" and int(b.solvers["chunks"]) >= 3
    _same(whole, b)
    plain = llmv2x.solve(city, method="exact", omega_t=0.5)
    assert "chunks" not in plain.solvers  # small and no option: one piece, as before


@pytest.mark.skipif(not HAVE_DASK, reason="dask.distributed is not installed")
def test_dask_workers_keep_glibcs_adaptive_malloc():
    """Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers by default, which made every
    NumPy temporary an mmap/munmap pair: a 200,000-vehicle solve took 21 s instead of 5."""
    import os

    got = map_chunks(os.environ.get, ["MALLOC_TRIM_THRESHOLD_"], executor="dask", workers=1)
    assert got == [os.environ.get("MALLOC_TRIM_THRESHOLD_")]


def test_an_unknown_executor_is_refused(city):
    with pytest.raises(LlmV2xError, match="serial, process, dask"):
        map_chunks(len, [[1]], executor="threads")


def test_a_time_limit_is_one_deadline_for_every_chunk(city, whole):
    opts = {"chunk_vehicles": 40}
    b = solve_exact_chunked(city, SolveSettings(omega_t=0.5, time_limit=60.0, options=opts))
    _same(whole, b)  # a generous limit changes nothing


# ---------------------------------------------------------------------------------------------
# baselines that decompose by RSU
# ---------------------------------------------------------------------------------------------


def test_equal_on_chunks_is_the_one_piece_allocation(city):
    from llmv2x.baselines.equal import solve_equal

    a = solve_equal(city, SolveSettings(omega_t=0.5))
    opts = {"workers": 2, "executor": "process", "chunk_vehicles": 40}
    b = llmv2x.solve(city, method="equal", omega_t=0.5, **opts)
    assert b.status == "feasible" and b.solvers["chunks"] == "5"
    for key in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz"):
        np.testing.assert_array_equal(getattr(b.allocation, key), getattr(a.allocation, key))
    assert b.objective == pytest.approx(a.objective, rel=1e-12)


@pytest.mark.parametrize("method", ["local", "offload"])
def test_radio_baselines_on_chunks_agree_to_their_tolerance(city, method):
    """Fractional programming stops per chunk: the same alpha, the objective to 1e-9."""
    from llmv2x.solvers.chunked_baselines import _one_piece

    settings = SolveSettings(omega_t=0.5, objective="latency")
    a = _one_piece(method)(city, settings)
    b = llmv2x.solve(city, method=method, settings=settings, chunk_vehicles=40)
    assert a.status == b.status == "feasible" and int(b.solvers["chunks"]) == 5
    np.testing.assert_array_equal(b.allocation.alpha, a.allocation.alpha)
    assert b.objective == pytest.approx(a.objective, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# through the command line
# ---------------------------------------------------------------------------------------------


def _cli_objective(*args) -> tuple[float, str]:
    import re
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "llmv2x.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return float(re.search(r"objective (\S+)", proc.stdout).group(1)), proc.stderr


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_solve_command_on_chunks_from_an_npz_file(city, tmp_path, executor):
    if executor == "dask" and not HAVE_DASK:
        pytest.skip("dask.distributed is not installed")
    path = tmp_path / "city.npz"
    city.save(path)
    one, _ = _cli_objective("solve", path, "--method", "exact")
    opts = ["--option", "workers=2", "--option", f"executor={executor}"]
    got, stderr = _cli_objective("solve", path, "--method", "exact", *opts, "--option",
                                 "chunk_vehicles=50")  # fmt: skip
    assert got == pytest.approx(one, rel=1e-9)  # the summary prints 9 digits
    assert stderr == ""  # no Dask or pool chatter without -v


def test_solve_flags_workers_and_executor(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "c.json"
    generate_instance(seed=2, vehicles=120, rsus=30, links=4).save(path)
    cmd = [sys.executable, "-m", "llmv2x.cli", "solve", str(path), "--workers", "2"]
    ok = subprocess.run([*cmd, "--method", "exact", "--executor", "process"],
                        capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert ok.returncode == 0 and "executor=process x2" in ok.stdout
    bad = subprocess.run([*cmd, "--method", "ao"], capture_output=True, text=True, timeout=300,
                         check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "unknown option 'workers' for method ao" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_a_dying_pool_worker_is_one_solve_error():
    """A worker killed mid-chunk (here it exits) is a SolveError, not BrokenProcessPool."""
    import os

    from llmv2x.errors import SolveError

    with pytest.raises(SolveError, match="worker process died"):
        map_chunks(os._exit, [3], executor="process", workers=1)


@pytest.mark.skipif(not HAVE_DASK, reason="dask.distributed is not installed")
def test_a_dask_worker_dying_on_every_attempt_is_one_solve_error():
    import os

    import dask

    from llmv2x.errors import SolveError

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        with pytest.raises(SolveError, match="Dask worker died"):
            map_chunks(os._exit, [3], executor="dask", workers=1)
