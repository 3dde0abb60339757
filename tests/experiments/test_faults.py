"""A sweep survives dying workers: the pool is rebuilt, no row is lost, and lost rows are
solved again on the next run."""

from __future__ import annotations

import functools

import pandas as pd
import pytest
from _faults import kill_always, kill_once

from llmv2x.experiments.sweep import (
    COLUMNS,
    InstanceSpec,
    Study,
    read_table,
    run_study,
    tidy,
    write_table,
)

SMALL = {"vehicles": 6, "rsus": 2}
SAME = [c for c in COLUMNS if c != "solve_time_s"]


def _study() -> Study:
    specs = tuple(InstanceSpec.generated(s, name=f"small-seed{s}", **SMALL) for s in (0, 1))
    return Study(specs, (0.2, 0.8), ("rrlo", "local"))


@pytest.fixture(scope="module")
def reference():
    return run_study(_study(), workers=1, progress=False)


def test_a_worker_killed_once_is_replaced_and_its_task_redone(reference, tmp_path):
    victim = _study().tasks()[3].key
    runner = functools.partial(kill_once, victim=victim, marker=str(tmp_path / "killed"))
    out = tmp_path / "sweep.csv"
    df = run_study(_study(), out, workers=2, progress=False, runner=runner)
    assert (tmp_path / "killed").exists()  # the worker really died once
    assert len(df) == len(reference) == 8
    assert (df["status"] != "error").all()
    pd.testing.assert_frame_equal(df[SAME], reference[SAME])
    pd.testing.assert_frame_equal(read_table(out)[SAME], reference[SAME])


def test_a_task_that_always_kills_its_worker_becomes_a_crash_row(reference, tmp_path, monkeypatch):
    log = tmp_path / "kills.log"
    monkeypatch.setenv("LLMV2X_FAULT_LOG", str(log))
    victim = _study().tasks()[5].key
    out = tmp_path / "sweep.csv"
    runner = functools.partial(kill_always, victim=victim)
    df = run_study(_study(), out, workers=2, progress=False, runner=runner)
    assert log.read_text().count("killed") == 3  # tried three times, each time alone
    bad = df[df["status"] == "error"]
    assert len(bad) == 1 and tuple(bad.iloc[0][list(COLUMNS[:5])]) == victim
    assert bad.iloc[0]["error_kind"] == "crash"
    assert "died on each of 3 attempts" in bad.iloc[0]["message"]
    good = df["status"] != "error"
    pd.testing.assert_frame_equal(
        df.loc[good, SAME].reset_index(drop=True),
        reference.loc[good.to_numpy(), SAME].reset_index(drop=True),
    )
    # a crash is not retried by a plain rerun, only with retry_errors
    again = run_study(_study(), out, workers=1, progress=False)
    assert (again["status"] == "error").sum() == 1
    fixed = run_study(_study(), out, workers=1, progress=False, retry_errors=True)
    pd.testing.assert_frame_equal(fixed[SAME], reference[SAME])


def test_transient_error_rows_are_solved_again_by_a_plain_rerun(reference, tmp_path):
    saved = reference.copy()
    saved.loc[1, ["status", "message", "error_kind"]] = [
        "error",
        "BrokenProcessPool: A process in the process pool was terminated abruptly",
        "transient",
    ]
    saved.loc[2, ["status", "message", "error_kind"]] = ["error", "SolveError: no", "raised"]
    out = tmp_path / "sweep.csv"
    write_table(tidy(saved), out)
    again = run_study(_study(), out, workers=1, progress=False)
    assert again.loc[1, "status"] != "error"  # transient: solved again
    assert again.loc[2, "status"] == "error"  # raised: kept
    retried = run_study(_study(), out, workers=1, progress=False, retry_errors=True)
    pd.testing.assert_frame_equal(retried[SAME], reference[SAME])


def test_a_table_without_error_kind_is_read_and_resumed(reference, tmp_path):
    old = reference.drop(columns="error_kind").copy()
    old.loc[0, ["status", "message"]] = ["error", "BrokenProcessPool: worker gone"]
    old.loc[3, ["status", "message"]] = ["error", "TypeError: bad field"]
    out = tmp_path / "sweep.csv"
    old.to_csv(out, index=False)
    table = read_table(out)
    assert list(table["error_kind"][[0, 3]]) == ["transient", "raised"]
    again = run_study(_study(), out, workers=1, progress=False)
    assert again.loc[0, "status"] != "error" and again.loc[3, "status"] == "error"
    assert list(read_table(out).columns) == list(COLUMNS)


def test_error_kinds_of_executor_and_solver_failures():
    from concurrent.futures.process import BrokenProcessPool

    from llmv2x.errors import SolveError
    from llmv2x.experiments.sweep import classify

    assert classify(BrokenProcessPool("gone")) == "transient"
    assert classify(MemoryError()) == "transient"
    assert classify(TimeoutError()) == "transient"
    assert classify(SolveError("qp_error")) == "raised"
    assert classify(TypeError("bad field")) == "raised"
    distributed = pytest.importorskip("distributed")
    assert classify(distributed.KilledWorker("task", "worker", 3)) == "transient"
