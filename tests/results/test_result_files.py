"""Result files at scale: JSON and the ``.npz`` container, exact round trips, vectorised
checks naming the first bad index, and hostile ``.npz`` files refused in one line."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import pickle
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from llmv2x.errors import LlmV2xError, ResultError
from llmv2x.models.allocation import Allocation
from llmv2x.results import ARRAYS, Result, audit, is_binary_path, make_result
from llmv2x.solvers.initial import initial_allocation


@pytest.fixture
def result(small_instance, settings) -> Result:
    a = initial_allocation(small_instance, settings)
    alloc = a.replace(alpha=np.array([1.0, 5.0, 9.0, 32.0, 16.0, 2.0]))
    return make_result(
        small_instance, settings, "initial", alloc, "converged", 0.25, solvers={"qp": "x 1"}
    )


def _random_result(n: int, seed: int = 0) -> Result:
    """Random arrays with the awkward doubles: -0.0, the smallest subnormal, the largest."""
    rng = np.random.default_rng(seed)
    arrays = [rng.integers(1, 33, n).astype(float)]
    for _ in range(4):
        a = rng.uniform(-1e9, 1e9, n) * 10.0 ** rng.integers(-300, 290, n)
        a[:3] = [-0.0, 5e-324, 1.7976931348623157e308]
        arrays.append(a)
    metrics = {"energy_j": 0.1 + 0.2, "compute_time_s": 1 / 3}
    return Result(
        "rnd",
        "exact",
        "latency",
        1 / 7,
        "optimal",
        2 / 3,
        0.1,
        Allocation(*arrays),
        metrics,
        1e-300,
        {"exact": "llmv2x structure"},
        12,
    )


def _same(a: Result, b: Result) -> None:
    """Field by field, the arrays bit for bit (a round trip in one process is exact)."""
    for f in dataclasses.fields(Result):
        if f.name in ("allocation", "message", "trace"):
            continue
        assert getattr(a, f.name) == getattr(b, f.name), f.name
    assert (a.allocation is None) == (b.allocation is None)
    if a.allocation is not None:
        for k in ARRAYS:
            x, y = getattr(a.allocation, k), getattr(b.allocation, k)
            assert x.dtype == y.dtype == np.float64
            assert np.array_equal(x.view(np.int64), y.view(np.int64)), k  # -0.0 included


@pytest.mark.parametrize("suffix", [".json", ".npz", ".NPZ"])
def test_round_trip_is_exact(tmp_path, suffix):
    res = _random_result(2000)
    path = tmp_path / f"r{suffix}"
    res.save(path)
    _same(res, Result.load(path))
    assert path.read_bytes()[:2] == (b"PK" if suffix.lower() == ".npz" else b"{\n")


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_a_verified_result_and_a_result_without_a_point_round_trip(result, tmp_path, suffix):
    failed = dataclasses.replace(
        result, status="error", allocation=None, objective=None, metrics={}
    )
    for res in (result, failed):
        res.save(tmp_path / f"r{suffix}")
        _same(res, Result.load(tmp_path / f"r{suffix}"))


def test_the_extension_picks_the_container():
    assert is_binary_path("a/b.npz") and is_binary_path("B.NPZ")
    assert not is_binary_path("b.json") and not is_binary_path("b.npz.json")


def test_json_puts_each_array_on_one_line(result):
    lines = result.to_json().splitlines()
    assert ' "alpha": [1, 5, 9, 32, 16, 2],' in lines
    assert lines[0] == "{" and lines[-1] == "}"
    fields, braces, closing = len(json.loads(result.to_json())), 2, 2
    assert len(lines) == fields + braces + len(result.metrics) + len(result.solvers) + closing


def test_a_fractional_alpha_is_written_as_it_is_not_rounded(result, small_instance, tmp_path):
    # to_dict used to write int(round(alpha)): 1.5 came back as 2, hiding a (10a) violation
    alloc = result.allocation.replace(alpha=np.r_[1.5, result.allocation.alpha[1:]])
    bad = dataclasses.replace(result, allocation=alloc)
    assert bad.to_dict()["alpha"][0] == 1.5
    for suffix in (".json", ".npz"):
        bad.save(tmp_path / f"r{suffix}")
        again = Result.load(tmp_path / f"r{suffix}")
        assert again.allocation.alpha[0] == 1.5
        assert any("(10a)" in p for p in audit(small_instance, again).problems)


@pytest.mark.parametrize(
    ("key", "edit", "message"),
    [
        ("p_w", lambda v: v[:3] + ["0.1"] + v[4:], r'^p_w\[3\]: expected a number, got "0.1"$'),
        ("alpha", lambda v: v[:2] + [True] + v[3:], r"^alpha\[2\]: expected a number, got true"),
        ("b_hz", lambda v: v[:4] + [float("nan")] + v[5:], r"^b_hz\[4\]: nan is not finite"),
        ("f_rsu_hz", lambda v: v[:1] + [10**400] + v[2:], r"^f_rsu_hz\[1\]: number too large"),
        ("f_vehicle_hz", lambda v: v[:5], r"^f_vehicle_hz: 5 entries, alpha has 6"),
        ("p_w", lambda v: {"0": 1}, "^p_w: expected a list of numbers, got dict"),
        ("alpha", lambda v: np.array(v, object), "^alpha: expected a 1-d array of numbers"),
        ("alpha", lambda v: np.array([v, v]), "^alpha: expected a 1-d array of numbers"),
    ],
)
def test_array_checks_name_the_first_bad_index(result, key, edit, message):
    d = result.to_dict()
    d[key] = edit(d[key])
    with pytest.raises(ResultError, match=message):
        Result.from_dict(d)


def test_numpy_arrays_and_numpy_scalars_are_accepted(result):
    d = result.to_dict()
    d["p_w"] = np.asarray(d["p_w"], np.float32).astype(np.float64)
    d["b_hz"] = [np.float64(x) for x in d["b_hz"]]
    d["alpha"] = np.asarray(d["alpha"], np.int32)
    again = Result.from_dict(d)
    assert np.array_equal(again.allocation.alpha, result.allocation.alpha)


def test_a_non_finite_array_is_not_saved(result, tmp_path):
    alloc = result.allocation.replace(p_w=np.r_[np.inf, result.allocation.p_w[1:]])
    bad = dataclasses.replace(result, allocation=alloc)
    for suffix in (".json", ".npz"):
        with pytest.raises(LlmV2xError, match="NaN or infinite"):
            bad.save(tmp_path / f"r{suffix}")
        assert not (tmp_path / f"r{suffix}").exists()


def test_npz_save_is_atomic_and_keeps_the_mode(result, tmp_path):
    path = tmp_path / "r.npz"
    path.write_text("old")
    path.chmod(0o640)
    result.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.npz"]


# ---------------------------------------------------------------------------
# hostile .npz files
# ---------------------------------------------------------------------------


def _npz(path, result: Result, **change) -> None:
    """Write ``result``'s container with entries replaced (None deletes one)."""
    entries = {k: getattr(result.allocation, k) for k in ARRAYS}
    d = result.to_dict()
    entries["meta"] = np.array(json.dumps({k: v for k, v in d.items() if k not in ARRAYS}))
    entries.update(change)
    np.savez(path, **{k: v for k, v in entries.items() if v is not None})


class _Boom:
    """Unpickling this would create a file: the proof that a pickle was executed."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def _one_line(path, *needles: str) -> None:
    with pytest.raises(ResultError) as info:
        Result.load(path)
    text = str(info.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text, text


def test_a_pickled_entry_is_refused_and_never_run(result, tmp_path):
    proof = tmp_path / "pwned"
    path = tmp_path / "r.npz"
    _npz(path, result, p_w=np.array([_Boom(str(proof))] * 6, dtype=object))
    _one_line(path, "p_w", "pickled", "refused")
    assert not proof.exists()


def test_a_pickle_named_npz_is_refused_and_never_run(tmp_path):
    proof = tmp_path / "pwned"
    path = tmp_path / "r.npz"
    path.write_bytes(pickle.dumps(_Boom(str(proof))))
    _one_line(path, "not a .npz archive", "not a zip file")  # never handed to NumPy
    assert not proof.exists()


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ({"b_hz": None}, ("b_hz: missing array",)),
        ({"meta": None}, ("meta: missing array",)),
        (
            {"f_rsu_hz": np.ones(5)},
            ("f_rsu_hz: 5 entries where the other vehicles entries have 6",),
        ),
        ({"p_w": np.array([0.1, 0.1, np.nan, 0.1, 0.1, 0.1])}, ("p_w[2]: nan is not finite",)),
        ({"alpha": np.ones((2, 3))}, ("alpha: expected a 1-d array",)),
        ({"alpha": np.array(["a"] * 6)}, ("alpha: expected a 1-d array",)),
        ({"extra": np.ones(6)}, ("extra: unknown entry",)),
        ({"meta": np.array("{")}, ("not valid JSON",)),
        ({"meta": np.array('{"format": "llmv2x-result/1", "format": 1}')}, ("duplicate key",)),
        ({"meta": np.array("[1]")}, ("meta: expected a JSON object",)),
        ({"meta": np.array([1.0])}, ("meta: expected one string of JSON",)),
        ({"meta": np.array('{"alpha": []}')}, ("alpha: both an array and a meta field",)),
        ({"meta": np.array('{"format": "llmv2x-result/1"}')}, ("instance: missing field",)),
    ],
)
def test_hostile_npz_is_one_result_error(result, tmp_path, change, needles):
    path = tmp_path / "r.npz"
    _npz(path, result, **change)
    _one_line(path, *needles)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"not a zip at all", "not a .npz archive (result file"),
        (b"PK\x03\x04" + b"\0" * 40, "not a .npz archive (result file"),
        (b"", "not a .npz archive (result file"),
    ],
)
def test_a_file_that_is_not_an_archive_is_one_result_error(tmp_path, content, needle):
    path = tmp_path / "r.npz"
    path.write_bytes(content)
    _one_line(path, needle)


def test_a_single_npy_array_is_refused(tmp_path):
    path = tmp_path / "r.npz"
    with open(path, "wb") as fh:
        np.save(fh, np.ones(3))
    _one_line(path, "a single .npy array")


def test_a_corrupt_member_is_one_result_error(result, tmp_path):
    path = tmp_path / "r.npz"
    _npz(path, result)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("p_w.npy")
    at = info.header_offset + 30 + len(info.filename) + 80  # inside the array's data
    raw[at : at + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    _one_line(path, "p_w", "result file")


@pytest.mark.parametrize("shape", [(2**40,), (2**62,), (7,)])
def test_a_header_asking_for_more_than_the_entry_holds_is_refused(result, tmp_path, shape):
    # a 24-byte entry whose header declares 8 TiB used to raise MemoryError from NumPy
    _npz(tmp_path / "ok.npz", result)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    header.write(b"\0" * 48)  # 6 doubles
    path = tmp_path / "r.npz"
    with zipfile.ZipFile(tmp_path / "ok.npz") as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, header.getvalue() if name == "p_w.npy" else src.read(name))
    _one_line(path, "p_w: its header declares shape", "the entry holds 48 bytes")


def test_evaluate_reads_an_npz_result(result, small_instance, tmp_path):
    inst, res = tmp_path / "inst.json", tmp_path / "r.npz"
    small_instance.save(inst)
    result.save(res)
    llmv2x = os.path.join(os.path.dirname(sys.executable), "llmv2x")
    proc = subprocess.run(
        [llmv2x, "evaluate", inst, res], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["problems"] == []


def test_solve_dash_o_npz_writes_the_binary_container(tmp_path):
    import zipfile

    llmv2x = os.path.join(os.path.dirname(sys.executable), "llmv2x")
    out = tmp_path / "r.npz"
    proc = subprocess.run(
        [llmv2x, "solve", "paper-seed0", "--method", "exact", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert zipfile.is_zipfile(out)
    assert Result.load(out).status == "optimal"
