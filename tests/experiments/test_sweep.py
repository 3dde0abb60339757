"""Sweeps: one row per solve, identical on every executor, failures as rows, resume."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from llmv2x.cli import main
from llmv2x.errors import SettingsError
from llmv2x.experiments.sweep import (
    COLUMNS,
    InstanceSpec,
    Study,
    paper_study,
    read_table,
    run_study,
)

SMALL = {"vehicles": 6, "rsus": 2}
SAME = [c for c in COLUMNS if c != "solve_time_s"]


def _tiny() -> Study:
    """2 small instances x 2 omega_t x 2 methods, plus one instance whose scenario raises a
    TypeError (not an LlmV2xError) inside the worker and one the validator refuses."""
    specs = (
        InstanceSpec.generated(0, name="small-seed0", **SMALL),
        InstanceSpec.generated(1, name="small-seed1", **SMALL),
        InstanceSpec.generated(2, name="broken", no_such_field=1.0, **SMALL),
        InstanceSpec.generated(3, name="refused", p_min_w=30.0, **SMALL),
    )
    return Study(specs, (0.2, 0.8), ("ao", "rrlo"))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "sweep.csv"
    return run_study(_tiny(), out, workers=1, progress=False), out


def test_one_row_per_solve_with_every_spec_metric(serial):
    df, _ = serial
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 4 * 2 * 2
    assert not df.duplicated(["instance", "seed", "method", "omega_t", "objective_variant"]).any()
    good = df[df["instance"].str.startswith("small")]
    assert set(good["status"]) <= {"converged", "feasible"}
    np.testing.assert_allclose(
        good["completion_time_s"], good["compute_time_s"] + good["transmit_time_s"], rtol=1e-12
    )
    parts = good["vehicle_energy_j"] + good["transmit_energy_j"] + good["rsu_energy_j"]
    np.testing.assert_allclose(good["energy_j"], parts, rtol=1e-12)


def test_a_solve_that_raises_becomes_an_error_row_and_the_sweep_goes_on(serial):
    df, _ = serial
    broken = df[df["instance"] == "broken"]
    assert len(broken) == 4 and set(broken["status"]) == {"error"}
    assert broken["message"].str.startswith("TypeError").all()
    assert broken["objective"].isna().all()
    refused = df[df["instance"] == "refused"]
    assert set(refused["status"]) == {"error"}
    assert refused["message"].str.contains("p_min_w").all()
    assert (df.loc[df["instance"].str.startswith("small"), "status"] != "error").all()


def test_rows_are_sorted_by_key_and_saved_exactly(serial):
    df, out = serial
    key = ["instance", "seed", "method", "omega_t", "objective_variant"]
    pd.testing.assert_frame_equal(df, df.sort_values(key).reset_index(drop=True))
    pd.testing.assert_frame_equal(read_table(out), df)
    if importlib.util.find_spec("pyarrow") is not None:
        pd.testing.assert_frame_equal(pd.read_parquet(out.with_suffix(".parquet")), df)


def test_process_pool_equals_serial(serial):
    pool = run_study(_tiny(), workers=2, progress=False)
    pd.testing.assert_frame_equal(pool[SAME], serial[0][SAME])


def test_dask_local_cluster_equals_serial_row_for_row(serial):
    pytest.importorskip("distributed")
    dask = run_study(_tiny(), dask_workers=2, progress=False)
    pd.testing.assert_frame_equal(dask[SAME], serial[0][SAME])


def test_rerun_skips_saved_rows(serial, tmp_path):
    df, out = serial
    saved = read_table(out)
    # a value no solver would produce: if the row were solved again it would be overwritten
    row = saved.index[saved["instance"] == "small-seed0"][0]
    saved.loc[row, "objective"] = 12345.0
    path = tmp_path / "sweep.csv"
    saved.to_csv(path, index=False)
    bigger = Study(_tiny().instances[:2], (0.2, 0.5, 0.8), ("ao", "rrlo"))
    again = run_study(bigger, path, workers=1, progress=False)
    assert len(again) == 2 * 3 * 2
    old = again[again["omega_t"] != 0.5].reset_index(drop=True)
    expected = saved[saved["instance"].str.startswith("small")].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, expected)  # same solve times: nothing solved again
    assert (again.loc[again["omega_t"] == 0.5, "status"] != "error").all()
    # the file keeps the rows of the other instances too
    assert len(read_table(path)) == len(saved) + 4


def test_retry_errors_solves_saved_error_rows_again(serial, tmp_path):
    saved = read_table(serial[1])
    first_ok = saved.index[saved["instance"] == "small-seed0"][0]
    saved.loc[first_ok, ["status", "message"]] = ["error", "pretend the worker died"]
    path = tmp_path / "sweep.csv"
    saved.to_csv(path, index=False)
    study = Study(_tiny().instances[:1], (0.2, 0.8), ("ao", "rrlo"))
    kept = run_study(study, path, workers=1, progress=False)
    assert (kept["status"] == "error").sum() == 1
    retried = run_study(study, path, workers=1, progress=False, retry_errors=True)
    assert (retried["status"] != "error").all()


def test_paper_study_pairs_each_instance_with_its_seed():
    study = paper_study(3, omega_t=(0.1, 0.9))
    tasks = study.tasks()
    assert len(tasks) == 3 * 2 * 4
    assert {t.method for t in tasks} == {"ao", "ao-paper", "rlor", "rrlo"}
    assert all(t.spec.name == f"paper-seed{t.seed}" and t.spec.seed == t.seed for t in tasks)
    inst = study.instances[2].load()
    assert inst.name == "paper-seed2" and inst.n_vehicles == 20


def test_study_refuses_unknown_method_and_bad_weight():
    specs = (InstanceSpec.generated(0),)
    with pytest.raises(SettingsError, match="method"):
        Study(specs, (0.5,), ("nope",))
    with pytest.raises(SettingsError, match="omega_t"):
        Study(specs, (1.5,), ("ao",))
    with pytest.raises(SettingsError, match="unique"):
        Study(specs * 2, (0.5,), ("ao",))


def test_cli_sweep_writes_and_resumes(tmp_path, capsys):
    out = tmp_path / "s.csv"
    args = ["sweep", "--seeds", "2", "--omega-t", "0.4", "--methods", "rrlo"]
    args += ["--scenario", "vehicles=6", "--scenario", "rsus=2", "-o", str(out), "--workers", "1"]
    assert main(args) == 0
    assert "2 solves" in capsys.readouterr().out
    first = read_table(out)
    assert main(args) == 0
    pd.testing.assert_frame_equal(read_table(out), first)
    assert main([*args[:-4], "--scenario", "nope=1", "-o", str(out)]) == 2
    assert "scenario" in capsys.readouterr().err


def test_cli_sweep_of_files_crosses_seeds(tmp_path, small_instance):
    f = tmp_path / "inst.json"
    small_instance.save(f)
    out = tmp_path / "s.csv"
    argv = ["sweep", str(f), "--seeds", "2", "--omega-t", "0.5", "--methods", "rrlo"]
    assert main([*argv, "-o", str(out), "--workers", "1", "--no-progress"]) == 0
    df = read_table(out)
    assert list(df["seed"]) == [0, 1] and set(df["instance"]) == {small_instance.name}
