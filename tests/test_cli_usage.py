"""The ``llmv2x`` command as a person meets it: usage, --version, fast --help, options checked
before anything runs, output targets checked before solving, results alone on stdout."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
import warnings

import pytest

from llmv2x.cli import main
from llmv2x.cli.logs import configure_logging
from llmv2x.instances import generate_instance


def run(*args: object, module: str = "llmv2x") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def inst_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("usage") / "inst.json"
    generate_instance(seed=1, name="usage", vehicles=6, rsus=2).save(path)
    return path


# ---------------------------------------------------------------------------
# usage, --version, python -m llmv2x
# ---------------------------------------------------------------------------


def test_bare_command_prints_usage_on_stderr_and_exits_2():
    proc = run()
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("usage: llmv2x")
    for command in ("solve", "evaluate", "compare", "sweep", "reproduce", "solvers"):
        assert command in proc.stderr


def test_bare_instance_prints_its_usage():
    proc = run("instance")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "generate" in proc.stderr and "check" in proc.stderr


def test_version_is_the_installed_one():
    proc = run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"llmv2x {importlib.metadata.version('llmv2x')}"


def test_python_dash_m_llmv2x_runs_the_command():
    proc = run("--help")
    assert proc.returncode == 0 and "COMMAND" in proc.stdout and proc.stderr == ""


def test_solve_help_lists_methods_backends_and_options():
    proc = run("solve", "--help")
    assert proc.returncode == 0
    for word in ("--method {ao,minlp,exact", "initial", "--qp-backend {highs", "max_rounds=int"):
        assert word in proc.stdout, word


# ---------------------------------------------------------------------------
# what a command imports
# ---------------------------------------------------------------------------

PROBE = """
import sys
from llmv2x.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = ("matplotlib", "pandas", "numpy", "pyomo", "scipy")
print("MODULES " + " ".join(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


def _heavy_modules(*argv: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=list(argv))],
        capture_output=True,
        text=True,
        timeout=180,
    )
    line = [x for x in proc.stderr.splitlines() if x.startswith("MODULES")][-1]
    return set(line.split()[1:])


def test_help_imports_no_numerical_library():
    assert _heavy_modules("--help") == set()
    assert _heavy_modules("solve", "--help") == set()


@pytest.mark.parametrize(
    "argv", [("solvers",), ("solve", "paper-seed0", "--method", "exact", "--omega-t", "0.5")]
)
def test_light_commands_import_neither_matplotlib_nor_pandas(argv):
    found = _heavy_modules(*argv)
    assert "matplotlib" not in found and "pandas" not in found, found


# ---------------------------------------------------------------------------
# method options
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("--option", "foo=1"), ("unknown option 'foo' for method ao", "max_rounds", "recipe")),
        (("--option", "max_round=1"), ("did you mean 'max_rounds'",)),
        (("--option", "max_rounds=1.5"), ("max_rounds", "not an integer")),
        (("--option", "recipe=fast"), ("recipe", "improved, paper")),
        (("--option", "nlp_options={tol"), ("--option", "JSON")),
        (("--option", "=3"), ("--option", "NAME=VALUE")),
        (("--option", "nlp_options=" + "[" * 100_000), ("--option", "nested deeper")),
        (("--option", 'nlp_options={"tol": 1, "tol": 2}'), ("duplicate key 'tol'",)),
        (("--method", "exact", "--recipe", "paper"), ("'recipe'", "method exact")),
        (("--method", "rrlo", "--option", "nlp_options={}"), ("'nlp_options'", "method rrlo")),
    ],
)
def test_unknown_or_mistyped_option_is_refused_without_writing(inst_file, tmp_path, args, needles):
    out = tmp_path / "res.json"
    one_line_error(run("solve", inst_file, *args, "-o", out), *needles)
    assert not out.exists()


def test_json_option_reaches_the_method(inst_file, tmp_path):
    out = tmp_path / "res.json"
    proc = run(
        "solve", inst_file, "--option", "max_rounds=1", "--option", 'nlp_options={"tol": 1e-9}',
        "-o", out,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["status"] in ("feasible", "converged")


def test_compare_refuses_an_option_no_method_reads(inst_file, tmp_path):
    proc = run("compare", inst_file, "--option", "max_rund=2", "-o", tmp_path)
    one_line_error(proc, "max_rund", "did you mean 'max_rounds'")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# output targets are checked before any work
# ---------------------------------------------------------------------------


def _targets(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = {
        "a folder": (tmp_path, "is a folder"),
        "below a file": (a_file / "out.json", "not a folder"),
        "missing folder": (tmp_path / "no" / "out.json", "does not exist"),
        "unwritable /proc": ("/proc/llmv2x-out.json", "/proc"),
    }
    if os.geteuid() != 0:  # root writes anywhere: os.access cannot refuse it
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        cases["read-only folder"] = (locked / "out.json", "not writable")
    return cases


@pytest.mark.parametrize(
    "case", ["a folder", "below a file", "missing folder", "unwritable /proc", "read-only folder"]
)
def test_solve_refuses_an_unwritable_target_before_solving(tmp_path, monkeypatch, capsys, case):
    cases = _targets(tmp_path)
    if case not in cases:
        pytest.skip("running as root")
    target, needle = cases[case]
    calls = []
    monkeypatch.setattr("llmv2x.api.solve", lambda *a, **k: calls.append(a))
    before = sorted(os.listdir(tmp_path))
    assert main(["solve", "paper-seed0", "--method", "exact", "-o", str(target)]) == 2
    err = capsys.readouterr()
    assert err.out == ""
    assert err.err.startswith("llmv2x: error: -o") and needle in err.err, err.err
    assert len(err.err.splitlines()) == 1
    assert calls == [], "solve ran although its output could not be written"
    assert sorted(os.listdir(tmp_path)) == before


def test_sweep_refuses_a_folder_as_its_table(tmp_path):
    one_line_error(run("sweep", "--seeds", "1", "-o", tmp_path), "-o", "is a folder")


def test_compare_refuses_a_file_as_its_folder(inst_file, tmp_path):
    a_file = tmp_path / "f"
    a_file.write_text("")
    one_line_error(run("compare", inst_file, "-o", a_file / "sub"), "--output-dir", "not a folder")


def test_generate_refuses_a_folder_as_target(tmp_path):
    one_line_error(run("instance", "generate", "-o", tmp_path), "-o", "is a folder")


# ---------------------------------------------------------------------------
# stdout carries results only; -v / -q
# ---------------------------------------------------------------------------


def test_solve_stdout_is_the_summary_and_logs_go_to_stderr_with_v(inst_file):
    quiet = run("solve", inst_file, "--method", "ao")
    loud = run("-v", "solve", inst_file, "--method", "ao")
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert quiet.stderr == ""
    assert "Ipopt" in loud.stderr  # the backend's own log, shown with -v, on stderr
    for proc in (quiet, loud):
        lines = proc.stdout.splitlines()
        assert lines[0].startswith("instance usage:") and lines[-1].startswith("metrics: ")
        for bad in ("Ipopt", "Warning", "WARNING", "Deprecat", "Traceback"):
            assert bad not in proc.stdout
    # the same summary whatever the verbosity (up to the measured time)
    strip = [line for line in quiet.stdout.splitlines() if not line.startswith("method ")]
    assert strip == [line for line in loud.stdout.splitlines() if not line.startswith("method ")]


def test_q_and_v_are_accepted_after_the_command(inst_file):
    proc = run("solve", inst_file, "--method", "initial", "-q")
    assert proc.returncode == 0 and proc.stderr == "" and proc.stdout.startswith("instance")


@pytest.mark.parametrize(("verbosity", "shown"), [(0, False), (1, True)])
def test_warnings_and_pyomo_logs_go_to_stderr_only_with_v(capsys, verbosity, shown):
    restore = configure_logging(verbosity)
    try:
        warnings.warn("numpy-like RuntimeWarning", RuntimeWarning, stacklevel=1)
        logging.getLogger("pyomo.core").warning("DEPRECATED: something old")
    finally:
        restore()
    out = capsys.readouterr()
    assert out.out == ""
    assert ("RuntimeWarning" in out.err) is shown
    assert ("DEPRECATED" in out.err) is shown


def test_quiet_hides_llmv2x_warnings_but_not_errors(capsys):
    restore = configure_logging(0, quiet=True)
    try:
        logging.getLogger("llmv2x.x").warning("a warning")
        logging.getLogger("llmv2x.x").error("an error")
    finally:
        restore()
    err = capsys.readouterr().err
    assert "a warning" not in err and "an error" in err


def test_logging_is_restored_after_main(capsys):
    handlers = list(logging.getLogger().handlers)
    assert main(["solvers"]) == 0
    assert logging.getLogger().handlers == handlers
    assert "highs" in capsys.readouterr().out


# ---------------------------------------------------------------------------
# --retry-errors
# ---------------------------------------------------------------------------


def test_reproduce_passes_retry_errors(tmp_path, monkeypatch):
    seen = {}

    def record(out_dir, **kw):
        seen.update(kw)
        return {}

    monkeypatch.setattr("llmv2x.experiments.reproduce.reproduce", record)
    assert main(["reproduce", "-o", str(tmp_path / "r"), "--retry-errors", "--seeds", "1"]) == 0
    assert seen["retry_errors"] is True and seen["seeds"] == 1
