"""The ``llmv2x`` command as a real subprocess: exit codes and one-line errors (docs/cli.md)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmv2x.instances import Instance, generate_instance
from llmv2x.results import Result

#: N = 8, M = 3, so vehicles[3], association[7], channel_gain[2] and rsus[1] all exist.
BASE = generate_instance(seed=1, name="cli-base", vehicles=8, rsus=3).to_dict()


def run_cli(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m llmv2x.cli ARGS`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "llmv2x.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def assert_one_line_error(
    proc: subprocess.CompletedProcess, *needles: str, ignore_prefix: bool = False
) -> str:
    """Non-zero exit, exactly one line on stderr, no traceback, every needle in it.

    The line starts with ``llmv2x: error:``; argparse's own errors name the sub-command
    (``llmv2x solve: error:``), so ``ignore_prefix`` only asks for ``llmv2x``."""
    assert proc.returncode != 0, proc.stdout
    err = proc.stderr
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("llmv2x" if ignore_prefix else "llmv2x: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ---------------------------------------------------------------------------
# malformed instance files
# ---------------------------------------------------------------------------


def _edit(fn: Callable[[dict], None]) -> Callable[[], str]:
    """A case that edits a copy of BASE and serialises it (NaN / Infinity allowed)."""

    def text() -> str:
        d = copy.deepcopy(BASE)
        fn(d)
        return json.dumps(d, indent=1)

    return text


def _raw(s: str) -> Callable[[], str]:
    return lambda: s


def _setv(*path_value):
    *path, value = path_value

    def fn(d):
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return _edit(fn)


def _huge_tokens() -> str:
    text = _setv("vehicles", 3, "tokens", 123456789)()
    return text.replace("123456789", "1" + "0" * 400, 1)


MALFORMED = {
    "wrong format string": (_setv("format", "llmv2x-instance/0"), "format"),
    "unknown top-level field": (_setv("comment", "hello"), "comment: unknown field"),
    "missing field": (_edit(lambda d: d.pop("noise_psd_w_per_hz")), "noise_psd_w_per_hz"),
    "unknown vehicle field": (_setv("vehicles", 3, "speed_mps", 1.0), "vehicles[3].speed_mps"),
    "missing vehicle field": (_edit(lambda d: d["vehicles"][6].pop("kappa")), "vehicles[6].kappa"),
    "unknown rsu field": (_setv("rsus", 1, "height_m", 10.0), "rsus[1].height_m"),
    "negative kappa": (_setv("vehicles", 3, "kappa", -1.8e-26), "vehicles[3].kappa"),
    "zero bandwidth": (_setv("rsus", 1, "bandwidth_hz", 0.0), "rsus[1].bandwidth_hz"),
    "zero rsu cores": (_setv("rsus", 0, "gpu_cores", 0), "rsus[0].gpu_cores"),
    "NaN literal": (_setv("vehicles", 3, "p_max_w", float("nan")), "vehicles[3].p_max_w"),
    "Infinity literal": (_setv("rsus", 2, "f_max_hz", float("inf")), "rsus[2].f_max_hz"),
    "p_min above p_max": (_setv("vehicles", 3, "p_min_w", 30.0), "vehicles[3].p_min_w"),
    "f_min above f_max": (_setv("vehicles", 5, "f_min_hz", 2.0e9), "vehicles[5].f_min_hz"),
    "association out of range": (_setv("association", 7, 3), "association[7]"),
    "association not an integer": (_setv("association", 7, 0.5), "association[7]"),
    "association a string": (_setv("association", 7, "1"), "association[7]"),
    "association too short": (_edit(lambda d: d["association"].pop()), "association"),
    "tokens not integer": (_setv("vehicles", 3, "tokens", 256.5), "vehicles[3].tokens"),
    "tokens zero": (_setv("vehicles", 3, "tokens", 0), "vehicles[3].tokens"),
    "tokens a huge integer": (_huge_tokens, "vehicles[3].tokens"),
    "channel_gain row count": (_edit(lambda d: d["channel_gain"].pop()), "channel_gain"),
    "channel_gain row length": (
        _edit(lambda d: d["channel_gain"][2].pop()),
        "channel_gain[2]",
    ),
    "channel_gain negative": (_setv("channel_gain", 2, 1, -1e-12), "channel_gain[2][1]"),
    "llm layers zero": (_setv("llm", "layers", 0), "llm.layers"),
    "noise negative": (_setv("noise_psd_w_per_hz", -4e-17), "noise_psd_w_per_hz"),
    "area negative": (_setv("area_m", 1, -5.0), "area_m[1]"),
    "empty vehicles": (_setv("vehicles", []), "vehicles"),
    "seed a string": (_setv("seed", "one"), "seed"),
    "invalid JSON text": (_raw('{"format": "llmv2x-instance/1",'), "not valid JSON"),
    "not an object": (_raw("[1, 2, 3]"), "instance"),
    "empty file": (_raw(""), "not valid JSON"),
}

#: Cases also pushed through ``llmv2x solve`` (slower: it imports Pyomo).
THROUGH_SOLVE = (
    "unknown top-level field",
    "negative kappa",
    "zero bandwidth",
    "NaN literal",
    "p_min above p_max",
    "association out of range",
    "tokens not integer",
    "channel_gain row length",
    "llm layers zero",
    "invalid JSON text",
)


def _write_case(folder: Path, case: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "broken.json"
    path.write_text(MALFORMED[case][0]())
    return path


@pytest.fixture(scope="module")
def malformed_runs(
    tmp_path_factory,
) -> dict[tuple[str, str], tuple[Path, subprocess.CompletedProcess]]:
    """Every malformed case through ``instance check`` (and some through ``solve``), run a
    few at a time since each is a fresh interpreter: (command, case) -> (folder, process)."""
    root = tmp_path_factory.mktemp("malformed")
    jobs = {}
    for i, case in enumerate(sorted(MALFORMED)):
        folder = root / f"check{i}"
        jobs["check", case] = (folder, ("instance", "check", _write_case(folder, case)))
    for i, case in enumerate(THROUGH_SOLVE):
        folder = root / f"solve{i}"
        path = _write_case(folder, case)
        jobs["solve", case] = (
            folder,
            ("solve", path, "--method", "initial", "-o", folder / "result.json"),
        )
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(run_cli, *args) for key, (_, args) in jobs.items()}
        return {key: (jobs[key][0], fut.result()) for key, fut in futures.items()}


def test_base_instance_is_valid(tmp_path):
    path = tmp_path / "base.json"
    path.write_text(json.dumps(BASE))
    proc = run_cli("instance", "check", path)
    assert proc.returncode == 0, proc.stderr
    assert "cli-base: valid, 8 vehicles, 3 RSUs" in proc.stdout
    assert proc.stderr == ""


def test_covers_at_least_fifteen_malformed_files():
    assert len(MALFORMED) >= 15
    assert set(THROUGH_SOLVE) <= set(MALFORMED)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_check_refuses_malformed_instance_in_one_line(malformed_runs, case):
    _, proc = malformed_runs["check", case]
    assert_one_line_error(proc, MALFORMED[case][1])
    assert proc.returncode == 2


@pytest.mark.parametrize("case", THROUGH_SOLVE)
def test_solve_refuses_malformed_instance_without_writing_output(malformed_runs, case):
    folder, proc = malformed_runs["solve", case]
    assert_one_line_error(proc, MALFORMED[case][1])
    assert not (folder / "result.json").exists()
    # no temporary file left behind either
    assert [p.name for p in folder.iterdir()] == ["broken.json"]


def test_check_refuses_missing_file(tmp_path):
    assert_one_line_error(run_cli("instance", "check", tmp_path / "nope.json"), "nope.json")


def test_check_refuses_non_utf8_file(tmp_path):
    path = tmp_path / "binary.json"
    path.write_bytes(b"\xff\xfe\x00\x01")
    assert_one_line_error(run_cli("instance", "check", path), "binary.json")


# ---------------------------------------------------------------------------
# solve and evaluate
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> tuple[Path, Path]:
    """An instance file and the result of ``solve --method initial`` on it."""
    folder = tmp_path_factory.mktemp("solved")
    inst = folder / "inst.json"
    inst.write_text(json.dumps(BASE))
    res = folder / "res.json"
    proc = run_cli("solve", inst, "--method", "initial", "--omega-t", "0.3", "-o", res)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return inst, res


def test_solve_writes_a_result_file(solved):
    inst, res = solved
    result = Result.load(res)
    assert result.method == "initial" and result.status == "feasible"
    assert result.omega_t == 0.3
    assert len(result.allocation.alpha) == 8


def test_evaluate_accepts_a_good_result(solved):
    inst, res = solved
    proc = run_cli("evaluate", inst, res)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["feasible"] is True
    assert out["max_violation"] <= 1e-9
    assert out["objective"] == pytest.approx(json.loads(res.read_text())["objective"], rel=1e-12)
    assert set(out["metrics"]) >= {"completion_time_s", "energy_j"}


def _tampered(res: Path, tmp_path: Path, fn: Callable[[dict], None]) -> Path:
    d = json.loads(res.read_text())
    fn(d)
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(d))
    return path


def test_evaluate_fails_when_the_objective_was_changed(solved, tmp_path):
    inst, res = solved
    bad = _tampered(res, tmp_path, lambda d: d.__setitem__("objective", d["objective"] * 1.001))
    proc = run_cli("evaluate", inst, bad)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["feasible"] is True
    assert "Traceback" not in proc.stderr


def test_evaluate_fails_when_a_bandwidth_share_breaks_10c(solved, tmp_path):
    inst, res = solved

    def widen(d):
        d["b_hz"][0] *= 1.1

    proc = run_cli("evaluate", inst, _tampered(res, tmp_path, widen))
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["feasible"] is False
    assert out["max_violation"] > 1e-3


def test_evaluate_fails_when_alpha_is_fractional(solved, tmp_path):
    inst, res = solved
    proc = run_cli(
        "evaluate", inst, _tampered(res, tmp_path, lambda d: d["alpha"].__setitem__(0, 1.5))
    )
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["feasible"] is False


def test_evaluate_refuses_missing_result_file(solved, tmp_path):
    inst, _ = solved
    assert_one_line_error(run_cli("evaluate", inst, tmp_path / "none.json"), "none.json")


def test_evaluate_refuses_missing_instance_file(solved, tmp_path):
    _, res = solved
    assert_one_line_error(run_cli("evaluate", tmp_path / "none.json", res), "none.json")


@pytest.mark.parametrize(
    ("field", "value"),
    [("omega_t", "half"), ("iterations", None), ("metrics", [1]), ("status", "great")],
)
def test_evaluate_refuses_malformed_result_field_in_one_line(solved, tmp_path, field, value):
    inst, res = solved
    bad = _tampered(res, tmp_path, lambda d: d.__setitem__(field, value))
    assert_one_line_error(run_cli("evaluate", inst, bad), field)


def test_evaluate_refuses_result_of_another_instance(solved, tmp_path):
    _, res = solved
    other = tmp_path / "other.json"
    generate_instance(seed=2, vehicles=5, rsus=2).save(other)
    assert_one_line_error(run_cli("evaluate", other, res), "alpha")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--method", "no-such-method"), "method"),
        (("--method", "initial", "--omega-t", "1.5"), "omega_t"),
        (("--method", "initial", "--objective", "fastest"), "objective"),
    ],
)
def test_solve_refuses_bad_settings_in_one_line(solved, tmp_path, args, needle):
    """--method and --objective are argparse choices (``llmv2x solve: error:``)."""
    inst, _ = solved
    out = tmp_path / "out.json"
    assert_one_line_error(run_cli("solve", inst, *args, "-o", out), needle, ignore_prefix=True)
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("solve", "paper-seed0", "--omega-t", "abc"), "--omega-t"),
        (("no-such-command",), "no-such-command"),
        (("instance", "generate", "--vehicles", "seven", "-o", "x.json"), "--vehicles"),
    ],
)
def test_bad_arguments_give_one_line_not_a_usage_block(tmp_path, args, needle):
    assert_one_line_error(run_cli(*args, cwd=tmp_path), needle, "error: ", ignore_prefix=True)
    assert list(tmp_path.iterdir()) == []


def test_solve_refuses_missing_instance_file(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("solve", tmp_path / "none.json", "--method", "initial", "-o", out)
    assert_one_line_error(proc, "none.json")
    assert not out.exists()


def test_solve_refuses_output_in_missing_folder(solved, tmp_path):
    inst, _ = solved
    out = tmp_path / "no" / "such" / "out.json"
    assert_one_line_error(run_cli("solve", inst, "--method", "initial", "-o", out), "-o")
    assert not out.exists()


# ---------------------------------------------------------------------------
# instance generate
# ---------------------------------------------------------------------------


def test_generate_writes_a_valid_instance(tmp_path):
    out = tmp_path / "gen.json"
    proc = run_cli(
        "instance", "generate", "--seed", "1", "--vehicles", "7", "--rsus", "3", "-o", out
    )
    assert proc.returncode == 0, proc.stderr
    inst = Instance.load(out)
    assert (inst.n_vehicles, inst.n_rsus) == (7, 3)
    assert inst.to_json() == generate_instance(seed=1, vehicles=7, rsus=3).to_json()
    assert run_cli("instance", "check", out).returncode == 0


def test_generate_refuses_impossible_scenario_without_writing(tmp_path):
    out = tmp_path / "gen.json"
    proc = run_cli("instance", "generate", "--vehicles", "0", "-o", out)
    assert_one_line_error(proc, "vehicles")
    assert not out.exists()


def test_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "llmv2x"
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable}")
    path = tmp_path / "broken.json"
    path.write_text(MALFORMED["association out of range"][0]())
    proc = subprocess.run(
        [str(script), "instance", "check", str(path)], capture_output=True, text=True, timeout=60
    )
    assert_one_line_error(proc, "association[7]: 3 is out of range for 3 RSUs")
