"""Hostile instance and result files through the installed ``llmv2x`` command.

Each file must give a non-zero exit and exactly one line on stderr naming the problem,
never a traceback (docs/data-format.md, docs/result-format.md, docs/cli.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmv2x.instances import generate_instance

LLMV2X = Path(sys.executable).parent / "llmv2x"
INSTANCE = generate_instance(seed=1, name="hostile", vehicles=6, rsus=2)


def run_cli(*args: str | Path) -> subprocess.CompletedProcess:
    """The installed ``llmv2x`` command with ARGS, output captured."""
    return subprocess.run(
        [str(LLMV2X), *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _instance_text(edit: Callable[[dict], None]) -> str:
    d = INSTANCE.to_dict()
    edit(d)
    return json.dumps(d, indent=1)


def _setter(*path_value) -> Callable[[dict], None]:
    *path, value = path_value

    def edit(d: dict) -> None:
        for key in path[:-1]:
            d = d[key]
        d[path[-1]] = value

    return edit


#: case -> (instance text, needles of the one stderr line)
INSTANCE_CASES: dict[str, tuple[str, tuple[str, ...]]] = {
    "duplicate noise key": (
        INSTANCE.to_json().replace(
            '"noise_psd_w_per_hz":', '"noise_psd_w_per_hz": -4e-17, "noise_psd_w_per_hz":', 1
        ),
        ("duplicate key 'noise_psd_w_per_hz'",),
    ),
    "nested 100000 deep": ("[" * 100_000 + "]" * 100_000, ("nested deeper than",)),
    "integer of 5000 digits": (
        INSTANCE.to_json().replace('"seed": 1', '"seed": ' + "3" * 5000, 1),
        ("seed: integer of 5000 digits",),
    ),
    "Infinity token": (
        INSTANCE.to_json().replace('"seed": 1', '"seed": -Infinity', 1),
        ("seed: -Infinity is not finite",),
    ),
    "kappa 1e308": (_instance_text(_setter("vehicles", 2, "kappa", 1e308)), ("vehicles[2].kappa",)),
    "vehicle f_max 1e308": (
        _instance_text(_setter("vehicles", 2, "f_max_hz", 1e308)),
        ("vehicles[2].f_max_hz", "physical range"),
    ),
    "p_max 1e308": (
        _instance_text(_setter("vehicles", 0, "p_max_w", 1e308)),
        ("vehicles[0].p_max_w", "physical range"),
    ),
    "rsu f_max 1e200": (
        _instance_text(_setter("rsus", 1, "f_max_hz", 1e200)),
        ("rsus[1].f_max_hz", "physical range"),
    ),
}


def _result_cases(result_text: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        "duplicate status": (
            result_text.replace('"status": ', '"status": "error", "status": ', 1),
            ("duplicate key 'status' in result file",),
        ),
        "alpha of 400 digits": (
            result_text.replace('"alpha": [', '"alpha": [' + "4" * 400 + ", ", 1),
            ("alpha[0]: integer of 400 digits",),
        ),
        "NaN objective": (
            re.sub(r'"objective": [-+.\deE]+', '"objective": NaN', result_text),
            ("objective: NaN is not finite",),
        ),
        "nested 100000 deep": ("{" + '"a":{' * 100_000 + "}" * 100_001, ("nested deeper",)),
        "integer of 5000 digits": (
            re.sub(r'"iterations": \d+', '"iterations": ' + "5" * 5000, result_text),
            ("iterations: integer of 5000 digits",),
        ),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    """Every hostile file through ``instance check``, ``solve`` or ``evaluate``."""
    folder = tmp_path_factory.mktemp("hostile")
    inst = folder / "inst.json"
    INSTANCE.save(inst)
    res = folder / "res.json"
    proc = run_cli("solve", inst, "--method", "equal", "-o", res)
    assert proc.returncode == 0, proc.stderr
    jobs: dict[str, tuple] = {}
    for i, (case, (text, _)) in enumerate(INSTANCE_CASES.items()):
        path = folder / f"inst{i}.json"
        path.write_text(text)
        jobs[f"check {case}"] = ("instance", "check", path)
        jobs[f"solve {case}"] = ("solve", path, "--method", "ao", "-o", folder / f"out{i}.json")
    for i, (case, (text, _)) in enumerate(_result_cases(res.read_text()).items()):
        path = folder / f"res{i}.json"
        path.write_text(text)
        jobs[f"evaluate {case}"] = ("evaluate", inst, path)
    jobs["check directory"] = ("instance", "check", folder)
    jobs["solve directory"] = ("solve", folder, "--method", "equal")
    jobs["evaluate directory instance"] = ("evaluate", folder, res)
    jobs["evaluate directory result"] = ("evaluate", inst, folder)
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {key: pool.submit(run_cli, *args) for key, args in jobs.items()}
        out = {key: fut.result() for key, fut in futures.items()}
    out["folder"] = folder
    return out


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Non-zero exit, one stderr line starting ``llmv2x: error:``, no traceback."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("llmv2x: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("command", ["check", "solve"])
@pytest.mark.parametrize("case", list(INSTANCE_CASES))
def test_hostile_instance_is_one_line(runs, command, case):
    assert_one_line(runs[f"{command} {case}"], *INSTANCE_CASES[case][1])


def test_hostile_instance_writes_no_result(runs):
    assert not list(runs["folder"].glob("out*.json"))


@pytest.mark.parametrize(
    "case",
    [
        "duplicate status",
        "alpha of 400 digits",
        "NaN objective",
        "nested 100000 deep",
        "integer of 5000 digits",
    ],
)
def test_hostile_result_is_one_line(runs, case):
    needles = _result_cases('"status": "x"')[case][1]
    assert_one_line(runs[f"evaluate {case}"], *needles)


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("check directory", "not an instance file"),
        ("solve directory", "not an instance file"),
        ("evaluate directory instance", "not an instance file"),
        ("evaluate directory result", "not a result file"),
    ],
)
def test_a_directory_is_named_as_such(runs, key, what):
    assert_one_line(runs[key], "is a directory", what)
