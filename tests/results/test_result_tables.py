"""Results as pandas DataFrames: ``Result.to_frame`` and ``load_table`` over many files."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from llmv2x.api import solve
from llmv2x.errors import ResultError
from llmv2x.instances import generate_instance
from llmv2x.models.evaluator import METRIC_KEYS
from llmv2x.results import ARRAYS, load_table

PER_RESULT = [
    "instance",
    "method",
    "objective_variant",
    "omega_t",
    "status",
    "objective",
    "lower_bound",
]
BASIC = ["vehicle", "rsu", *ARRAYS]


@pytest.fixture(scope="module")
def other_instance():
    return generate_instance(seed=2, name="other-seed2", vehicles=9, rsus=3)


@pytest.fixture(scope="module")
def results(small_instance, other_instance):
    """Three real solves of two instances."""
    return [
        solve(small_instance, method="equal"),
        solve(small_instance, method="exact"),
        solve(other_instance, method="equal", omega_t=0.8, objective="latency"),
    ]


def test_to_frame_has_one_row_per_vehicle_and_the_result_columns(results):
    res = results[1]
    frame = res.to_frame()
    assert list(frame.columns) == BASIC + PER_RESULT
    assert list(frame["vehicle"]) == list(range(6))
    assert list(frame["rsu"]) == list(res.allocation.association)  # recorded in the result
    bare = res.allocation.replace(association=None)
    assert dataclasses.replace(res, allocation=bare).to_frame()["rsu"].isna().all()
    assert frame["alpha"].dtype == np.int64
    for k in ARRAYS:
        assert np.array_equal(frame[k].to_numpy(float), getattr(res.allocation, k))
    assert (frame["method"] == "exact").all() and (frame["status"] == res.status).all()
    assert (frame["objective"] == res.objective).all()
    assert (frame["lower_bound"] == res.lower_bound).all()


def test_to_frame_with_the_instance_adds_rsu_and_per_vehicle_metrics(results, small_instance):
    res = results[0]
    frame = res.to_frame(small_instance)
    assert list(frame.columns) == BASIC + list(METRIC_KEYS) + PER_RESULT
    assert list(frame["rsu"]) == list(small_instance.association)
    for key in METRIC_KEYS:  # each column sums to the metric of its name
        assert frame[key].sum() == pytest.approx(res.metrics[key], rel=1e-12)
    np.testing.assert_allclose(
        frame["completion_time_s"],
        frame["compute_time_s"] + frame["transmit_time_s"],
        rtol=1e-12,
    )
    values = frame[list(METRIC_KEYS)].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (frame.loc[frame["alpha"] < 32, "rsu_energy_j"] > 0).all()


def test_to_frame_of_a_result_without_a_point_has_no_rows(results):
    failed = dataclasses.replace(results[0], status="error", allocation=None, objective=None)
    frame = failed.to_frame()
    assert list(frame.columns) == BASIC + PER_RESULT and len(frame) == 0


def test_to_frame_refuses_another_instance(results, small_instance, other_instance):
    with pytest.raises(ResultError, match="instance: the result is for 'small-seed1'"):
        results[0].to_frame(other_instance)
    renamed = dataclasses.replace(other_instance, name="small-seed1")
    with pytest.raises(ResultError, match="alpha: result has 6 vehicles, instance 9"):
        results[0].to_frame(renamed)


@pytest.fixture
def folder(tmp_path, results):
    for name, res in zip(["a.json", "b.npz", "c.json"], results, strict=True):
        res.save(tmp_path / name)
    return tmp_path


def test_load_table_reads_three_files_of_two_instances(folder, results):
    table = load_table(str(folder / "*"))
    assert list(table.columns) == ["file", *BASIC, *PER_RESULT]
    assert len(table) == 6 + 6 + 9
    files = [str(folder / n) for n in ("a.json", "b.npz", "c.json")]
    assert list(table["file"].unique()) == files
    for path, res in zip(files, results, strict=True):
        rows = table[table["file"] == path]
        assert list(rows["vehicle"]) == list(range(res.n_vehicles))
        assert np.array_equal(rows["b_hz"].to_numpy(), res.allocation.b_hz)
        assert set(rows["instance"]) == {res.instance} and set(rows["method"]) == {res.method}
    assert set(table.loc[table["instance"] == "other-seed2", "omega_t"]) == {0.8}
    assert table.groupby("instance").size().to_dict() == {"other-seed2": 9, "small-seed1": 12}


def test_load_table_with_instances_adds_per_vehicle_metrics(
    folder, results, small_instance, other_instance
):
    table = load_table(
        [folder / "a.json", folder / "b.npz", folder / "c.json"],
        instances=[small_instance, other_instance],
    )
    assert "rsu" in table and table["rsu"].notna().all()
    sums = table.groupby("file", sort=False)["energy_j"].sum().to_numpy()
    np.testing.assert_allclose(sums, [r.metrics["energy_j"] for r in results], rtol=1e-12)


def test_load_table_takes_instances_as_a_mapping_of_files(folder, small_instance, tmp_path):
    small_instance.save(tmp_path / "small.json")
    table = load_table(str(folder / "[ab].*"), instances={"small-seed1": tmp_path / "small.json"})
    assert len(table) == 12
    assert list(table["rsu"]) == 2 * list(small_instance.association)


def test_load_table_per_result_has_one_row_per_file(folder, results, tmp_path):
    failed = dataclasses.replace(
        results[0], status="error", allocation=None, objective=None, metrics={}
    )
    failed.save(tmp_path / "d.json")
    table = load_table(str(folder / "*.*"), per="result")
    assert len(table) == 4
    assert list(table.columns) == [
        "file",
        *PER_RESULT,
        "vehicles",
        "solve_time_s",
        "iterations",
        *METRIC_KEYS,
    ]
    assert list(table["vehicles"]) == [6, 6, 9, 0]
    assert list(table["method"]) == ["equal", "exact", "equal", "equal"]
    assert table.loc[3, "status"] == "error" and np.isnan(table.loc[3, "energy_j"])
    assert np.isnan(table.loc[3, "objective"])
    assert table.loc[1, "lower_bound"] == results[1].lower_bound
    assert table.loc[0, "energy_j"] == results[0].metrics["energy_j"]


def test_load_table_errors_name_the_file_or_the_pattern(folder, small_instance):
    with pytest.raises(ResultError, match=r"\*.csv: no result file matches"):
        load_table(str(folder / "*.csv"))
    (folder / "bad.json").write_text('{"format": "llmv2x-result/1"}')
    with pytest.raises(ResultError, match=r"bad.json: instance: missing field"):
        load_table(str(folder / "*.json"))
    with pytest.raises(ResultError, match="per: expected 'vehicle' or 'result'"):
        load_table(str(folder / "a.json"), per="rsu")
    with pytest.raises(ResultError, match="c.json: instance 'other-seed2' is not among"):
        load_table([folder / "a.json", folder / "c.json"], instances=[small_instance])


def test_pandas_is_imported_only_when_a_table_is_made():
    code = (
        "import sys; from llmv2x.results import Result, load_table; "
        "print('pandas' in sys.modules); "
        "r = Result('i', 'equal', 'paper', 0.5, 'error', None, None, None, {}, 0.0); "
        "r.to_frame(); print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
