"""Pictures of an allocation (llmv2x.plot, ``Result.plot``, ``llmv2x plot``; docs/plotting.md).

Results come from the real ``exact`` method (fast at N = 6 and 200). Each figure is written
to a file and read back: it must be non-trivial (size, many colours, not one colour).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import llmv2x
from llmv2x.errors import LlmV2xError, ResultError
from llmv2x.instances import Instance, generate_instance
from llmv2x.models import physics
from llmv2x.models.evaluator import metrics
from llmv2x.plot import (
    AGGREGATE_ABOVE,
    PlotError,
    draw_energy_bars,
    draw_map,
    draw_time_bars,
    plot_result,
    save_figure,
    title_text,
    vehicle_breakdown,
)
from llmv2x.plot.breakdown import binding, per_vehicle_limit, rsu_usage
from llmv2x.results import Result


@pytest.fixture(scope="module")
def solved6(small_instance: Instance) -> tuple[Instance, Result]:
    res = llmv2x.solve(small_instance, method="exact")
    assert res.ok
    return small_instance, res


@pytest.fixture(scope="module")
def solved200() -> tuple[Instance, Result]:
    inst = generate_instance(seed=3, name="gen-200", vehicles=200, rsus=8)
    res = llmv2x.solve(inst, method="exact")
    assert res.ok
    return inst, res


def _limits(inst: Instance, res: Result) -> dict[str, np.ndarray]:
    """Per-vehicle limits: vehicle 0's bind exactly, the others are slack, vehicle 1 has none."""
    bd = vehicle_breakdown(inst, res.allocation)
    deadlines = bd.completion_time * 1.5
    deadlines[0] = bd.completion_time[0]
    deadlines[1] = np.nan
    budgets = bd.own_energy * 2.0
    budgets[0] = bd.own_energy[0]
    return {"deadlines": deadlines, "energy_budgets": budgets}


def _with_association(res: Result, association: np.ndarray) -> SimpleNamespace:
    """A result-like object that carries its own ``association`` (a later result field)."""
    fields = ("method", "status", "objective", "lower_bound", "objective_variant", "omega_t")
    return SimpleNamespace(
        allocation=res.allocation, association=association, **{k: getattr(res, k) for k in fields}
    )


def _assert_picture(path: Path, min_bytes: int = 20_000) -> None:
    """A non-trivial image: big enough, and for PNG many distinct colours, not one."""
    assert path.stat().st_size > min_bytes, f"{path} has only {path.stat().st_size} bytes"
    if path.suffix == ".png":
        img = matplotlib.image.imread(path)[..., :3]
        rgb = (img.reshape(-1, 3) * 255).round().astype(np.uint32)
        colours = np.unique(rgb[:, 0] << 16 | rgb[:, 1] << 8 | rgb[:, 2])
        assert len(colours) > 50, f"{path}: only {len(colours)} colours"
        assert float(img.std()) > 0.05
        # not mostly blank: at least 3 % of the pixels differ from white
        assert float(np.mean(np.any(img < 0.95, axis=-1))) > 0.03


def _one_panel(draw, inst: Instance, res: Result, path: Path, **kw) -> Path:
    fig = Figure(figsize=(8, 6), layout="constrained")
    draw(fig.add_subplot(), inst, res, **kw)
    return save_figure(fig, path)


@pytest.mark.parametrize("size", ["6", "200"])
@pytest.mark.parametrize("variants", [False, True], ids=["plain", "variants"])
def test_each_panel_renders_a_nontrivial_image(
    size: str, variants: bool, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    inst, res = request.getfixturevalue(f"solved{size}")
    lim = _limits(inst, res) if variants else {}
    if variants:  # association as a decision: every vehicle picks its second-strongest link
        res = _with_association(res, np.argsort(-inst.channel_gain, axis=1)[:, 1])
    dl = {"deadlines": lim["deadlines"]} if variants else {}
    eb = {"energy_budgets": lim["energy_budgets"]} if variants else {}
    _assert_picture(_one_panel(draw_map, inst, res, tmp_path / "map.png", **dl, **eb))
    _assert_picture(_one_panel(draw_time_bars, inst, res, tmp_path / "time.png", **dl))
    _assert_picture(_one_panel(draw_energy_bars, inst, res, tmp_path / "energy.png", **eb))
    fig = plot_result(inst, res, **lim)
    _assert_picture(save_figure(fig, tmp_path / "all.png"), min_bytes=60_000)
    assert len(fig.axes) >= 4  # map, two bar panels and the colour bar


def test_variants_mark_the_binding_limits(solved6: tuple[Instance, Result]) -> None:
    inst, res = solved6
    lim = _limits(inst, res)
    fig = Figure()
    ax_t, ax_e = fig.add_subplot(121), fig.add_subplot(122)
    draw_time_bars(ax_t, inst, res, deadlines=lim["deadlines"])
    draw_energy_bars(ax_e, inst, res, energy_budgets=lim["energy_budgets"])
    labels_t = ax_t.get_legend_handles_labels()[1]
    labels_e = ax_e.get_legend_handles_labels()[1]
    assert "deadline" in labels_t and "deadline binds" in labels_t
    assert "energy budget" in labels_e and "energy budget binds" in labels_e
    plain = Figure().add_subplot()
    draw_time_bars(plain, inst, res)
    assert not any("deadline" in s for s in plain.get_legend_handles_labels()[1])


def test_binding_is_within_tolerance_and_ignores_missing_limits() -> None:
    value = np.array([1.0, 1.0, 2.0, 5.0])
    limit = np.array([1.0 + 1e-6, 1.5, np.nan, 4.0])
    assert binding(value, limit).tolist() == [True, False, False, True]
    assert binding(value, None).tolist() == [False] * 4


def test_instance_limits_are_read_when_present(small_instance: Instance) -> None:
    assert per_vehicle_limit(small_instance, "deadline_s") is None
    with_deadlines = SimpleNamespace(
        name="x", n_vehicles=3, deadline_s=[1.0, None, 2.0], vehicle={}
    )
    got = per_vehicle_limit(with_deadlines, "deadline_s")
    assert got[0] == 1.0 and np.isnan(got[1]) and got[2] == 2.0
    in_columns = SimpleNamespace(name="x", n_vehicles=2, vehicle={"energy_budget_j": [None, None]})
    assert per_vehicle_limit(in_columns, "energy_budget_j") is None
    with pytest.raises(ResultError, match="deadline_s: 2 entries"):
        per_vehicle_limit(with_deadlines, "deadline_s", given=[1.0, 2.0])


def test_breakdown_sums_to_the_evaluator_metrics(solved200: tuple[Instance, Result]) -> None:
    inst, res = solved200
    bd = vehicle_breakdown(inst, res.allocation)
    m = metrics(inst, res.allocation)
    pairs = {
        "completion_time_s": bd.completion_time,
        "transmit_time_s": bd.time_transmit,
        "vehicle_energy_j": bd.energy_vehicle,
        "transmit_energy_j": bd.energy_transmit,
        "rsu_energy_j": bd.energy_rsu,
        "energy_j": bd.total_energy,
    }
    for key, arr in pairs.items():
        assert float(np.sum(arr)) == pytest.approx(m[key], rel=1e-12), key
    usage = rsu_usage(inst, res.allocation, inst.association)
    served = usage.vehicles > 0
    # exact solves P1 with equality budgets: every serving RSU hands out all of both
    np.testing.assert_allclose(usage.bandwidth_share[served], 1.0, rtol=1e-6)
    np.testing.assert_allclose(usage.frequency_share[served], 1.0, rtol=1e-6)
    assert usage.vehicles.sum() == inst.n_vehicles


def test_result_association_is_used_for_the_link_and_the_rsu(
    solved6: tuple[Instance, Result],
) -> None:
    inst, res = solved6
    assoc = np.array(inst.association)
    assoc[0] = 1 - assoc[0]  # vehicle 0 picks the other RSU
    picked = SimpleNamespace(**{k: getattr(res, k) for k in ("allocation", "status")})
    picked.association = assoc
    bd = vehicle_breakdown(inst, res.allocation, assoc)
    a = res.allocation
    rate = physics.uplink_rate(
        a.b_hz[0], a.p_w[0], inst.channel_gain[0, assoc[0]], inst.noise_psd_w_per_hz
    )
    assert bd.time_transmit[0] == pytest.approx(inst.bits[0] / rate, rel=1e-12)
    base = vehicle_breakdown(inst, a)
    assert bd.time_transmit[0] != pytest.approx(base.time_transmit[0], rel=1e-3)
    ax = Figure().add_subplot()
    draw_map(ax, inst, picked, colorbar=False)
    texts = [t.get_text() for t in ax.texts if t.get_text().startswith("RSU")]
    counts = np.bincount(assoc, minlength=inst.n_rsus)
    for m in range(inst.n_rsus):
        assert any(t.startswith(f"RSU {m} · {counts[m]} veh") for t in texts), texts
    # moving vehicle 0 leaves its shares at the old RSU: the labels then show B and F
    assert all("B " in t and "F " in t for t in texts), texts


def test_rsu_labels_show_budget_shares_only_when_some_are_left(
    solved6: tuple[Instance, Result],
) -> None:
    inst, res = solved6
    ax = Figure().add_subplot()
    draw_map(ax, inst, res, colorbar=False)
    assert "uses all its bandwidth" in ax.get_title()
    assert not any("B " in t.get_text() for t in ax.texts)
    half = res.allocation.replace(b_hz=res.allocation.b_hz / 2)
    ax = Figure().add_subplot()
    draw_map(ax, inst, SimpleNamespace(allocation=half, status="feasible"), colorbar=False)
    labels = [t.get_text() for t in ax.texts if t.get_text().startswith("RSU")]
    assert all("B 50%, F 100% used" in t for t in labels), labels


def test_map_aggregates_past_the_threshold(tmp_path: Path) -> None:
    inst = generate_instance(seed=4, name="gen-400", vehicles=400, rsus=12)
    assert inst.n_vehicles > AGGREGATE_ABOVE
    res = llmv2x.solve(inst, method="exact")
    fig = Figure(figsize=(8, 7), layout="constrained")
    ax = fig.add_subplot()
    draw_map(ax, inst, res)
    assert "density" in ax.get_title()
    # no collection with one marker per vehicle
    assert all(len(c.get_offsets()) < inst.n_vehicles for c in ax.collections)
    _assert_picture(save_figure(fig, tmp_path / "map400.png"))


def test_title_says_instance_method_status_objective_and_bound(
    solved200: tuple[Instance, Result], solved6: tuple[Instance, Result]
) -> None:
    inst, res = solved200
    text = title_text(inst, res)
    for part in ("gen-200", "exact", res.status, f"{res.objective:.6g}", "lower bound", "gap"):
        assert part in text
    ao = SimpleNamespace(method="ao", status="converged", objective=2.0, lower_bound=None)
    assert "no lower bound" in title_text(solved6[0], ao)


def test_result_plot_gives_a_figure_or_draws_into_one_axes(
    solved6: tuple[Instance, Result], tmp_path: Path
) -> None:
    inst, res = solved6
    fig = res.plot(inst)
    assert isinstance(fig, Figure)
    assert inst.name in fig.get_suptitle()
    own = Figure(layout="constrained")
    ax = own.add_subplot()
    assert res.plot(inst, ax=ax) is own
    assert "map" in ax.get_title()
    for suffix in (".pdf", ".svg"):
        _assert_picture(save_figure(fig, tmp_path / f"fig{suffix}"))


def test_user_mistakes_are_one_line_errors(
    solved6: tuple[Instance, Result], solved200: tuple[Instance, Result], tmp_path: Path
) -> None:
    inst6, res6 = solved6
    inst200, _ = solved200
    with pytest.raises(ResultError, match="alpha: the result has 6 vehicles"):
        plot_result(inst200, res6)
    failed = Result(
        instance=inst6.name,
        method="ao",
        objective_variant="paper",
        omega_t=0.5,
        status="error",
        objective=None,
        lower_bound=None,
        allocation=None,
        metrics={},
        solve_time_s=0.0,
    )
    with pytest.raises(ResultError, match="status error"):
        plot_result(inst6, failed)
    fig = plot_result(inst6, res6)
    with pytest.raises(PlotError, match="unknown figure format .gif"):
        save_figure(fig, tmp_path / "x.gif")
    with pytest.raises(PlotError, match="does not exist"):
        save_figure(fig, tmp_path / "missing" / "x.png")
    with pytest.raises(LlmV2xError, match="scale"):
        draw_time_bars(Figure().add_subplot(), inst6, res6, scale="cubic")
    with pytest.raises(PlotError, match="three"):
        plot_result(inst6, res6, ax=[Figure().add_subplot()] * 2)


def test_linear_and_log_scales(solved6: tuple[Instance, Result]) -> None:
    inst, res = solved6
    ax = Figure().add_subplot()
    draw_time_bars(ax, inst, res, scale="linear")
    assert ax.get_yscale() == "linear"
    ax = Figure().add_subplot()
    draw_time_bars(ax, inst, res)  # transmission is > 97 % of the time here: auto picks log
    assert ax.get_yscale() == "log"


def test_cli_plot_writes_the_figure_and_help_does_not_import_matplotlib(
    solved6: tuple[Instance, Result], tmp_path: Path
) -> None:
    inst, res = solved6
    inst.save(tmp_path / "i.json")
    res.save(tmp_path / "r.json")
    out = tmp_path / "fig.png"
    cmd = [
        sys.executable,
        "-m",
        "llmv2x",
        "plot",
        str(tmp_path / "i.json"),
        str(tmp_path / "r.json"),
    ]
    done = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    _assert_picture(out)
    bad = subprocess.run([*cmd, "-o", str(tmp_path / "fig.gif")], capture_output=True, text=True)
    assert bad.returncode != 0
    assert len(bad.stderr.strip().splitlines()) == 1 and ".gif" in bad.stderr
    probe = (
        "import sys\nfrom llmv2x.cli import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\nprint('matplotlib' in sys.modules)"
    )
    help_run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert help_run.stdout.strip().splitlines()[-1] == "False"


def test_labels_of_nearby_rsus_do_not_overlap() -> None:
    from llmv2x.plot.labels import _box, place_labels

    fig = Figure(figsize=(6, 6))
    ax = fig.add_subplot()
    ax.set_xlim(0, 1000)
    ax.set_ylim(0, 1000)
    points = np.array([[500.0, 500.0], [520.0, 510.0], [480.0, 530.0], [505.0, 470.0]])
    anchors = ax.transData.transform(points)
    texts = [f"RSU {m} · 12 veh · 341 layers" for m in range(len(points))]
    where = place_labels(ax, anchors, texts, 7.5, np.empty((0, 2)))
    px = fig.dpi / 72.0
    w = (0.56 * 7.5 * len(texts[0]) + 8) * px
    h = (1.25 * 7.5 + 6) * px
    boxes = [_box(*anchors[i], dx, dy, off * px, w, h) for i, (dx, dy, off) in enumerate(where)]
    for i in range(len(boxes)):
        for j in range(i):
            a, b = boxes[i], boxes[j]
            apart = a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]
            assert apart, (i, j, where)


def test_candidate_links_are_the_strongest_k_when_dense_and_the_stored_links_when_sparse():
    from llmv2x.plot.map import candidate_links

    dense = generate_instance(seed=3, vehicles=12, rsus=6)
    cand = candidate_links(dense, k=3)
    assert cand.shape == (12, 3)
    assert (cand[:, 0] == np.argmax(dense.channel_gain, axis=1)).all()
    sparse = generate_instance(seed=3, vehicles=60, rsus=40, links=2)
    assert not sparse.is_dense
    cand = candidate_links(sparse)
    for n in range(sparse.n_vehicles):
        assert set(cand[n][cand[n] >= 0]) == set(sparse.candidates(n).tolist())
