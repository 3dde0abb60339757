"""Figures 1-2 and the claims table from a study table; reproduce end to end on small instances."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from llmv2x.cli import main
from llmv2x.errors import SettingsError
from llmv2x.experiments.figures import (
    aggregate,
    paired_differences,
    paper_claims,
    solved,
    write_figures,
)
from llmv2x.experiments.reproduce import parse_sets, reproduce
from llmv2x.experiments.sweep import OMEGA_T_GRID, read_table, tidy, write_table

# computation time per method at omega_t = w (RLOR 40 % slower than AO), transmission constant
SCALE = {"ao": 0.6, "ao-paper": 0.61, "rlor": 1.0, "rrlo": 1.1}


def _table(seeds: int = 5, scale: dict[str, float] = SCALE) -> pd.DataFrame:
    """A synthetic study table with the shape of the paper's trends."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(seeds):
        tx_time, tx_energy = 1000.0 * (1 + s), 100.0 * (1 + s)
        for method, k in scale.items():
            for w in OMEGA_T_GRID:
                ct = k * 100 * (1 - w) + rng.uniform(0, 1)
                ve, re = k * 10 * w, k * 20 * w
                rows.append(
                    {
                        "instance": f"paper-seed{s}",
                        "seed": s,
                        "method": method,
                        "omega_t": w,
                        "objective_variant": "paper",
                        "objective": k * 50 + tx_energy,
                        "compute_time_s": ct,
                        "transmit_time_s": tx_time,
                        "completion_time_s": ct + tx_time,
                        "vehicle_energy_j": ve,
                        "transmit_energy_j": tx_energy,
                        "rsu_energy_j": re,
                        "energy_j": ve + re + tx_energy,
                        "status": "converged" if method.startswith("ao") else "feasible",
                        "solve_time_s": 0.1,
                        "message": "",
                    }
                )
    return tidy(rows)


def _claims(df: pd.DataFrame) -> pd.Series:
    return paper_claims(df).set_index(["claim", "measure"])["holds"]


def test_aggregate_is_the_mean_with_a_bootstrap_interval_around_it():
    df = _table(6)
    agg = aggregate(df, ["compute_time_s"], ["ao"])
    row = agg[agg["omega_t"] == 0.5].iloc[0]
    x = df.loc[(df["method"] == "ao") & (df["omega_t"] == 0.5), "compute_time_s"].to_numpy()
    assert row["n"] == 6
    assert row["mean"] == pytest.approx(x.mean())
    assert x.min() <= row["ci95_low"] < row["mean"] < row["ci95_high"] <= x.max()
    # about as wide as a t-interval on well-behaved data
    half = stats.t.ppf(0.975, 5) * np.std(x, ddof=1) / np.sqrt(6)
    assert 0.4 * half < (row["ci95_high"] - row["ci95_low"]) / 2 < 1.5 * half


def test_a_band_of_a_positive_quantity_never_goes_below_zero():
    # heavy-tailed energies, as transmission is across instances: one instance dwarfs the rest
    df = _table(8)
    heavy = (df["instance"] == "paper-seed3") & (df["method"] == "ao")
    df.loc[heavy, "energy_j"] *= 1000.0
    x = df.loc[(df["method"] == "ao") & (df["omega_t"] == 0.5), "energy_j"].to_numpy()
    t_low = x.mean() - stats.t.ppf(0.975, len(x) - 1) * np.std(x, ddof=1) / np.sqrt(len(x))
    assert t_low < 0  # the interval the figures used to draw
    agg = aggregate(df, ["energy_j"], ["ao"])
    assert (agg["ci95_low"] > 0).all()


def test_a_failed_solve_drops_its_instance_for_every_method():
    df = _table(4)
    bad = (df["instance"] == "paper-seed2") & (df["method"] == "rlor") & (df["omega_t"] == 0.3)
    df.loc[bad, "status"] = "error"
    kept = solved(df, ["ao", "rlor", "rrlo"])
    assert "paper-seed2" not in set(kept["instance"])
    assert len(kept) == 3 * 3 * len(OMEGA_T_GRID)
    assert set(aggregate(df, ["energy_j"])["n"]) == {3}


def test_paired_differences_are_per_instance_relative():
    df = _table(4)
    diff = paired_differences(df, ["objective"], "ao", ["rlor"])
    # objective: 0.6 * 50 + tx against 1.0 * 50 + tx, tx = 100 (1 + s)
    tx = 100.0 * np.arange(1, 5)
    expected = np.mean(100 * ((30 + tx) - (50 + tx)) / (50 + tx))
    np.testing.assert_allclose(diff["mean"], expected, rtol=1e-12)
    assert (diff["ci95_high"] < 0).all() and (diff["n"] == 4).all()


def test_figures_draw_both_ao_recipes(tmp_path):
    files = write_figures(_table(), tmp_path, "synthetic")
    names = {f.name for f in files}
    for stem in ("figure1", "figure2"):
        assert {f"{stem}.png", f"{stem}.pdf", f"{stem}.csv", f"{stem}-diff.csv"} <= names
        png = tmp_path / f"{stem}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
        data = pd.read_csv(tmp_path / f"{stem}.csv")
        assert set(data["method"]) == {"ao", "ao-paper", "rlor", "rrlo"}
        # two panels and the transmission part of the end-to-end one
        assert len(data) == 3 * 4 * len(OMEGA_T_GRID)
        diff = pd.read_csv(tmp_path / f"{stem}-diff.csv")
        assert set(diff["base"]) == {"ao-paper", "rlor", "rrlo"} and set(diff["method"]) == {"ao"}
    assert (tmp_path / "claims.md").read_text().startswith("# The paper's claims")


def test_figures_with_some_error_rows_draw_the_rest_and_say_so(tmp_path, caplog):
    df = _table()
    bad = (df["instance"] == "paper-seed1") & (df["method"] == "rlor")
    df.loc[bad, ["status", "message", "error_kind"]] = [
        "error",
        "BrokenProcessPool: x",
        "transient",
    ]
    df.loc[df["method"] == "ao-paper", ["status", "error_kind"]] = ["error", "raised"]
    with caplog.at_level(logging.WARNING):
        write_figures(df, tmp_path)
    assert "ao-paper" in caplog.text and "1 of 5 instances left out" in caplog.text
    data = pd.read_csv(tmp_path / "figure1.csv")
    assert set(data["method"]) == {"ao", "rlor", "rrlo"} and set(data["n"]) == {4}
    claims = pd.read_csv(tmp_path / "claims.csv")
    first = claims.iloc[0]
    assert not first["holds"] and "every solve failed for ao-paper" in first["verdict"]
    assert "BrokenProcessPool" in first["evidence"]


def test_figures_of_a_table_with_only_error_rows_are_written_and_say_so(tmp_path, caplog):
    df = _table(2)
    df["status"], df["message"] = "error", "BrokenProcessPool: pool broke"
    for col in ("objective", "compute_time_s", "energy_j"):
        df[col] = np.nan
    with caplog.at_level(logging.WARNING):
        files = write_figures(df, tmp_path, "all failed")
    assert "nothing to draw" in caplog.text
    assert (tmp_path / "figure1.png").stat().st_size > 10_000
    assert all(f.exists() for f in files)
    claims = pd.read_csv(tmp_path / "claims.csv")
    assert len(claims) == 1 and not claims.iloc[0]["holds"]
    assert "nothing to draw" in claims.iloc[0]["verdict"]
    write_figures(tidy([]), tmp_path / "empty")  # no rows at all
    assert (tmp_path / "empty" / "figure2.png").exists()


def test_claims_read_the_numbers_right():
    claims = _claims(_table())
    assert claims[("completion time falls as omega_t grows", "compute_time_s")]
    assert claims[("energy rises as omega_t grows", "energy_j")]
    assert claims[("AO (improved) beats RLOR", "objective")]
    assert claims[("AO (paper recipe) beats RLOR", "objective")]
    assert claims[
        ("AO (improved) ~40 % less completion time than RLOR at omega_t 0.1-0.2", "compute_time_s")
    ]
    # transmission dominates end to end, so 40 % of the computation is ~nothing there
    assert not claims[
        (
            "AO (improved) ~40 % less completion time than RLOR at omega_t 0.1-0.2",
            "completion_time_s",
        )
    ]


def test_a_verdict_needs_an_effect_beyond_the_threshold():
    # end to end, computation is 0.2 % of the total: a real but tiny fall, as in the paper set
    df = _table(5, {"ao": 0.6, "rlor": 0.6 * (1 + 1e-4), "rrlo": 1.1})
    df["transmit_time_s"] *= 100
    df["completion_time_s"] = df["compute_time_s"] + df["transmit_time_s"]
    table = paper_claims(df).set_index(["claim", "measure"])
    fall = table.loc[("completion time falls as omega_t grows", "completion_time_s")]
    assert not fall["holds"] and "below the 1 % threshold" in fall["verdict"]
    assert "1 %" in fall["threshold"]
    beats = table.loc[("AO (improved) beats RLOR", "completion_time_s")]
    assert not beats["holds"] and beats["verdict"].startswith("no")
    assert table.loc[("completion time falls as omega_t grows", "compute_time_s"), "holds"]


def test_recipe_claim_counts_solves_where_the_paper_recipe_is_worse():
    df = _table(3, {"ao": 0.6, "ao-paper": 0.6, "rlor": 1.0, "rrlo": 1.1})
    worse = (df["method"] == "ao-paper") & (df["omega_t"] == 0.5)
    df.loc[worse, "objective"] = df.loc[worse, "objective"] * 1.005
    row = (
        paper_claims(df)
        .set_index("claim")
        .loc["the improved recipe is never worse than the paper's"]
    )
    assert row["holds"] and "above improved in 3 of 27 solves" in row["evidence"]


def test_parse_sets_refuses_unknown_names():
    assert parse_sets("paper, noise174") == ["paper", "noise174"]
    with pytest.raises(SettingsError, match="bogus"):
        parse_sets("paper,bogus")


def test_reproduce_writes_each_set(tmp_path):
    report = reproduce(
        tmp_path,
        seeds=2,
        sets=["noise174"],
        workers=1,
        omega_t=(0.2, 0.8),
        scenario={"vehicles": 6, "rsus": 2},
        progress=False,
    )
    r = report["noise174"]
    assert len(r["table"]) == 2 * 2 * 4 and r["errors"] == 0
    assert set(r["table"]["method"]) == {"ao", "ao-paper", "rlor", "rrlo"}
    folder = tmp_path / "noise174"
    for name in ("sweep.csv", "figure1.png", "figure1.pdf", "figure2.png", "claims.md"):
        assert (folder / name).stat().st_size > 0
    # -174 dBm/Hz reached the instances: AO's transmission energy is a few J, where at
    # -134 dBm/Hz the same two instances need about 7e3 and 2.6e4 J
    ao = r["table"][r["table"]["method"] == "ao"]
    assert ao["transmit_energy_j"].max() < 100.0
    msgs = r["table"].set_index("method")["message"]
    assert msgs["ao-paper"].str.contains("recipe paper").all()
    assert msgs["ao"].str.contains("recipe improved").all()


def test_reproduce_retry_errors_solves_saved_error_rows_again(tmp_path):
    kw = dict(
        seeds=1,
        sets=["paper"],
        workers=1,
        omega_t=(0.5,),
        methods=("rrlo",),
        scenario={"vehicles": 6, "rsus": 2},
        progress=False,
    )
    first = reproduce(tmp_path, **kw)["paper"]["table"]
    path = tmp_path / "paper" / "sweep.csv"
    saved = read_table(path)
    saved.loc[0, ["status", "message", "error_kind"]] = ["error", "SolveError: no", "raised"]
    write_table(saved, path)
    assert reproduce(tmp_path, **kw)["paper"]["errors"] == 1
    again = reproduce(tmp_path, retry_errors=True, **kw)["paper"]
    assert again["errors"] == 0
    np.testing.assert_allclose(again["table"]["objective"], first["objective"], rtol=1e-9)


def test_cli_reproduce_refuses_bad_arguments(capsys):
    assert main(["reproduce", "--sets", "nope"]) == 2
    assert main(["reproduce", "--seeds", "0"]) == 2
    assert "seeds" in capsys.readouterr().err
