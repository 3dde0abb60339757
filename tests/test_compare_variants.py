"""``llmv2x compare`` on the problem variants (docs/cli.md#compare): only the methods that solve
the variant run, a listed one that does not is refused in one line, and ``--formulations``
runs each MINLP backend on each formulation with its certified gap."""

from __future__ import annotations

import subprocess
import sys

import pytest

from llmv2x.errors import SettingsError
from llmv2x.experiments.compare import DEFAULT_METHODS, compare, select_methods
from llmv2x.instances import generate_instance
from llmv2x.settings import SolveSettings
from llmv2x.solvers.methods import available_methods, check_instance
from llmv2x.solvers.registry import availability

pytestmark = pytest.mark.skipif(not availability("scip", "minlp"), reason="needs SCIP")

DECISION = SolveSettings(association="decision", time_limit=20.0)


@pytest.fixture(scope="module")
def tiny():
    """3 vehicles, 2 RSUs: every link dense, so the association is a real choice."""
    return generate_instance(seed=3, name="cmp-tiny", vehicles=3, rsus=2, layers=4)


def _refusal(instance, settings, method: str) -> str:
    with pytest.raises(SettingsError) as info:
        check_instance(instance, settings, method)
    return str(info.value)


def test_default_methods_are_those_that_solve_the_variant(tiny):
    """Before, compare refused every variant as a whole ('compare does not support ...')."""
    run, skipped = select_methods(tiny, DECISION)
    assert "minlp" in run and "local" not in run
    assert skipped["local"] == _refusal(tiny, DECISION, "local")
    for method in skipped:  # every method left out says why, in its own one line
        assert skipped[method] == _refusal(tiny, DECISION, method)
    for method in run:
        check_instance(tiny, DECISION, method)  # every chosen method accepts the variant
    assert set(run) | set(skipped) == set(DEFAULT_METHODS) & set(available_methods())
    # P1 itself: nothing is left out
    run_p1, skipped_p1 = select_methods(tiny, SolveSettings())
    assert skipped_p1 == {} and {"ao", "minlp", "local"} <= set(run_p1)


def test_a_listed_method_that_cannot_solve_the_variant_is_refused(tiny):
    with pytest.raises(SettingsError) as info:
        compare(tiny, DECISION, ["scip"], methods=["minlp", "local"])
    assert str(info.value) == _refusal(tiny, DECISION, "local")
    assert "\n" not in str(info.value)
    with pytest.raises(SettingsError, match="--methods: 'nope' is not one of"):
        compare(tiny, DECISION, ["scip"], methods=["nope"])


def test_formulations_give_one_row_each_with_its_gap(tiny):
    df = compare(tiny, DECISION, ["scip"], methods=["minlp"], formulations=["plain", "strong"])
    assert list(df["backend"]) == ["scip:plain", "scip:strong"]
    assert df.attrs["skipped"] == {}
    strong = df.iloc[1]
    assert strong["status"] in ("optimal", "time_limit", "feasible")
    assert strong["objective"] == pytest.approx(strong["objective"])  # a number, not NaN
    assert strong["lower_bound"] <= strong["objective"] * (1 + 1e-9)
    expected = (strong["objective"] - strong["lower_bound"]) / abs(strong["objective"])
    assert strong["gap"] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmv2x", "compare", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_compare_takes_the_variant_options(tiny, tmp_path):
    path = tmp_path / "tiny.json"
    tiny.save(path)
    out = tmp_path / "out"
    proc = _cli(path, "--association", "decision", "--budgets", "inequality",
                "--methods", "minlp", "--minlp-backends", "scip", "--formulations", "strong",
                "--time-limit", "20", "-o", out)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "| minlp | scip:strong |" in proc.stdout
    assert (out / "compare-cmp-tiny.csv").is_file()


def test_cli_compare_lists_the_methods_it_left_out(tiny, tmp_path):
    path = tmp_path / "tiny.json"
    tiny.save(path)
    proc = _cli(path, "--association", "decision", "--minlp-backends", "scip",
                "--time-limit", "10", "-o", tmp_path / "out")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    left = [ln for ln in proc.stdout.splitlines() if ln.startswith("not run")]
    assert len(left) == 1 and "local" in left[0] and "rlor" in left[0]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--methods", "local"), "method local does not support association=decision"),
        (("--formulations", "plain,tight"), "--formulations: tight not among plain, strong"),
        (("--formulations", "plain", "--formulation", "strong"), "give one of them"),
    ],
)
def test_cli_compare_refuses_in_one_line(tiny, tmp_path, extra, needle):
    path = tmp_path / "tiny.json"
    tiny.save(path)
    proc = _cli(path, "--association", "decision", *extra, "-o", tmp_path / "out")
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert not (tmp_path / "out").exists()
