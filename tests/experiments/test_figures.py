"""Figures 1-2 and the claims table from a study table; reproduce end to end on small instances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from llmv2x.cli import main
from llmv2x.errors import SettingsError
from llmv2x.experiments.figures import aggregate, paper_claims, solved, write_figures
from llmv2x.experiments.reproduce import parse_sets, reproduce
from llmv2x.experiments.sweep import OMEGA_T_GRID, tidy

# computation time per method at omega_t = w (RLOR 40 % slower than AO), transmission constant
SCALE = {"ao": 0.6, "rlor": 1.0, "rrlo": 1.1}


def _table(seeds: int = 5) -> pd.DataFrame:
    """A synthetic study table with the shape of the paper's trends."""
    rng = np.random.default_rng(0)
    rows = []
    for s in range(seeds):
        tx_time, tx_energy = 1000.0 * (1 + s), 100.0 * (1 + s)
        for method, k in SCALE.items():
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
                        "status": "converged" if method == "ao" else "feasible",
                        "solve_time_s": 0.1,
                        "message": "",
                    }
                )
    return tidy(rows)


def test_aggregate_is_mean_with_a_t_interval():
    df = _table(3)
    agg = aggregate(df, ["compute_time_s"], ["ao"])
    row = agg[agg["omega_t"] == 0.5].iloc[0]
    x = df.loc[(df["method"] == "ao") & (df["omega_t"] == 0.5), "compute_time_s"].to_numpy()
    half = stats.t.ppf(0.975, 2) * np.std(x, ddof=1) / np.sqrt(3)
    assert row["n"] == 3
    assert row["mean"] == pytest.approx(x.mean())
    assert row["ci95_high"] - row["mean"] == pytest.approx(half)
    assert row["mean"] - row["ci95_low"] == pytest.approx(half)


def test_a_failed_solve_drops_its_instance_for_every_method():
    df = _table(4)
    bad = (df["instance"] == "paper-seed2") & (df["method"] == "rlor") & (df["omega_t"] == 0.3)
    df.loc[bad, "status"] = "error"
    kept = solved(df, ["ao", "rlor", "rrlo"])
    assert "paper-seed2" not in set(kept["instance"])
    assert len(kept) == 3 * 3 * len(OMEGA_T_GRID)
    assert set(aggregate(df, ["energy_j"])["n"]) == {3}


def test_figures_are_written(tmp_path):
    files = write_figures(_table(), tmp_path, "synthetic")
    names = {f.name for f in files}
    for stem in ("figure1", "figure2"):
        assert {f"{stem}.png", f"{stem}.pdf", f"{stem}.csv"} <= names
        png = tmp_path / f"{stem}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
        data = pd.read_csv(tmp_path / f"{stem}.csv")
        assert set(data["method"]) == {"ao", "rlor", "rrlo"}
        # two panels and the transmission part of the end-to-end one
        assert len(data) == 3 * 3 * len(OMEGA_T_GRID)
    assert (tmp_path / "claims.md").read_text().startswith("# The paper's claims")


def test_claims_read_the_numbers_right():
    claims = paper_claims(_table()).set_index(["claim", "measure"])["holds"]
    assert claims[("completion time falls as omega_t grows", "compute_time_s")]
    assert claims[("energy rises as omega_t grows", "energy_j")]
    assert claims[("AO beats RLOR", "objective")]
    assert claims[("AO ~40 % less completion time than RLOR at omega_t 0.1-0.2", "compute_time_s")]
    # transmission dominates end to end, so 40 % of the computation is ~nothing there
    assert not claims[
        ("AO ~40 % less completion time than RLOR at omega_t 0.1-0.2", "completion_time_s")
    ]


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
    assert len(r["table"]) == 2 * 2 * 3 and r["errors"] == 0
    folder = tmp_path / "noise174"
    for name in ("sweep.csv", "figure1.png", "figure1.pdf", "figure2.png", "claims.md"):
        assert (folder / name).stat().st_size > 0
    # -174 dBm/Hz reached the instances: AO's transmission energy is a few J, where at
    # -134 dBm/Hz the same two instances need about 7e3 and 2.6e4 J
    ao = r["table"][r["table"]["method"] == "ao"]
    assert ao["transmit_energy_j"].max() < 100.0


def test_cli_reproduce_refuses_bad_arguments(capsys):
    assert main(["reproduce", "--sets", "nope"]) == 2
    assert main(["reproduce", "--seeds", "0"]) == 2
    assert "seeds" in capsys.readouterr().err
