"""The default scenario generator: path loss, shadowing, association, seeds, overrides."""

from __future__ import annotations

import copy
import importlib.util
import json
import math

import numpy as np
import pytest

from helpers import assert_close_tree, close_tree_difference
from llmv2x.instances import Instance, ScenarioParams, generate_instance, path_loss_db
from llmv2x.instances import generate as generate_module
from llmv2x.instances.generate import builtin_instance, dbm_to_watt, is_builtin


def _distances(inst: Instance) -> np.ndarray:
    v, r = inst.vehicle, inst.rsu
    dx = v["x_m"][:, None] - r["x_m"][None, :]
    dy = v["y_m"][:, None] - r["y_m"][None, :]
    return np.hypot(dx, dy)


# ---------------------------------------------------------------------------
# path loss and shadowing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance_m", "loss_db"),
    [
        (1000.0, 128.1),
        (100.0, 128.1 - 37.6),
        (10.0, 128.1 - 2 * 37.6),
        (2000.0, 128.1 + 37.6 * math.log10(2.0)),
        (500.0, 128.1 - 37.6 * math.log10(2.0)),
    ],
)
def test_path_loss_matches_hand_values(distance_m, loss_db):
    assert path_loss_db(np.array([distance_m]))[0] == pytest.approx(loss_db, abs=1e-12)


@pytest.mark.parametrize("distance_m", [0.0, 1.0, 9.99])
def test_path_loss_floors_distance_at_ten_metres(distance_m):
    assert path_loss_db(np.array([distance_m]))[0] == pytest.approx(52.9, abs=1e-12)


def test_shadowing_is_gaussian_8_db_with_zero_mean():
    residuals = []
    for seed in range(3):
        inst = generate_instance(seed=seed, vehicles=200, rsus=20)
        loss_db = 10.0 * np.log10(1.0 / inst.channel_gain)
        residuals.append((loss_db - path_loss_db(_distances(inst))).ravel())
    r = np.concatenate(residuals)
    assert r.size == 3 * 200 * 20
    assert abs(np.std(r) - 8.0) < 0.3
    assert abs(np.mean(r)) < 0.3
    # independent per pair: neighbouring RSUs of one vehicle are uncorrelated
    one = residuals[0].reshape(200, 20)
    assert abs(np.corrcoef(one[:, 0], one[:, 1])[0, 1]) < 0.25


def test_shadowing_can_be_switched_off():
    inst = generate_instance(seed=4, shadowing_db=0.0)
    loss_db = 10.0 * np.log10(1.0 / inst.channel_gain)
    np.testing.assert_allclose(loss_db, path_loss_db(_distances(inst)), rtol=1e-12)


# ---------------------------------------------------------------------------
# association, defaults, seeds, overrides
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_vehicle_is_associated_with_its_nearest_rsu(seed):
    inst = generate_instance(seed=seed, vehicles=50, rsus=8)
    np.testing.assert_array_equal(inst.association, np.argmin(_distances(inst), axis=1))


def test_default_scenario_matches_spec_section_2():
    inst = generate_instance(seed=0)
    v, r = inst.vehicle, inst.rsu
    assert inst.name == "paper-seed0"
    assert (inst.n_vehicles, inst.n_rsus) == (20, 5)
    assert inst.area_m == (1000.0, 1000.0)
    assert (inst.layers, inst.hidden_size, inst.batch_size) == (32, 4096, 1)
    assert inst.activation_bits_per_value == 16
    assert inst.noise_psd_w_per_hz == pytest.approx(3.981e-17, rel=1e-3)
    assert np.all(r["bandwidth_hz"] == 20.0e6)
    assert np.all(v["p_min_w"] == 0.1) and np.all(v["p_max_w"] == 20.0)
    assert np.all(v["gpu_cores"] == 2048) and np.all(r["gpu_cores"] == 6912)
    assert np.all(v["f_max_hz"] == 1.3e9) and np.all(r["f_max_hz"] == 1.41e9)
    assert v["kappa"][0] == pytest.approx(1.8207e-26, rel=1e-4)
    assert r["kappa"][0] == pytest.approx(1.4269e-25, rel=1e-4)
    for xy in (v["x_m"], v["y_m"], r["x_m"], r["y_m"]):
        assert np.all((0 <= xy) & (xy <= 1000))


def test_noise_density_is_minus_134_dbm_per_hz():
    assert dbm_to_watt(-134.0) == pytest.approx(10 ** (-16.4), rel=1e-12)
    assert dbm_to_watt(30.0) == 1.0


def test_tokens_are_integers_in_128_to_512():
    tokens = generate_instance(seed=5, vehicles=3000, rsus=20).vehicle["tokens"]
    assert tokens.dtype.kind == "i"
    assert tokens.min() >= 128 and tokens.max() <= 512
    assert tokens.min() < 140 and tokens.max() > 500  # the whole range is used


def test_same_seed_gives_the_same_instance():
    assert generate_instance(seed=11).to_json() == generate_instance(seed=11).to_json()


def test_different_seeds_give_different_instances():
    a, b = generate_instance(seed=11), generate_instance(seed=12)
    assert not np.array_equal(a.channel_gain, b.channel_gain)
    assert a.name != b.name


def test_keyword_overrides_take_effect():
    inst = generate_instance(
        seed=2,
        name="custom",
        vehicles=7,
        rsus=3,
        bandwidth_hz=5.0e6,
        p_max_w=10.0,
        layers=16,
        area_x_m=200.0,
        area_y_m=300.0,
    )
    assert inst.name == "custom"
    assert (inst.n_vehicles, inst.n_rsus, inst.layers) == (7, 3, 16)
    assert inst.channel_gain.shape == (7, 3)
    assert np.all(inst.rsu["bandwidth_hz"] == 5.0e6)
    assert np.all(inst.vehicle["p_max_w"] == 10.0)
    assert inst.area_m == (200.0, 300.0)
    assert np.all(inst.vehicle["x_m"] <= 200.0) and np.all(inst.vehicle["y_m"] <= 300.0)


def test_params_object_and_overrides_combine():
    params = ScenarioParams(vehicles=9, rsus=4)
    inst = generate_instance(seed=0, params=params, rsus=2)
    assert (inst.n_vehicles, inst.n_rsus) == (9, 2)


def test_kappa_follows_the_power_override():
    inst = generate_instance(seed=0, vehicle_power_w=20.0)
    assert inst.vehicle["kappa"][0] == pytest.approx(20.0 / 1.3e9**3, rel=1e-12)


def test_unknown_override_is_refused():
    with pytest.raises(TypeError):
        generate_instance(seed=0, no_such_parameter=1)


def test_builtin_names_are_the_paper_seeds():
    assert is_builtin("paper-seed3") and not is_builtin("paper-seed10")
    assert builtin_instance("paper-seed3").to_json() == generate_instance(seed=3).to_json()


# ---------------------------------------------------------------------------
# the committed benchmark files are what scripts/make_instances.py writes
# ---------------------------------------------------------------------------


def _make_instances_module(repo_root):
    spec = importlib.util.spec_from_file_location(
        "make_instances", repo_root / "scripts" / "make_instances.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_instance_files_match_the_script(repo_root):
    """Keys, integers and strings exactly, floats to 1e-12 relative: NumPy/libm may differ in
    the last digit between machines, and the committed files are the source of truth."""
    module = _make_instances_module(repo_root)
    names = []
    for inst in module.benchmark_instances():
        path = repo_root / "instances" / f"{inst.name}.json"
        text = path.read_text()
        diff = close_tree_difference(json.loads(text), json.loads(inst.to_json()), rtol=1e-12)
        assert diff is None, f"{path.name} is stale: {diff}"
        # the layout Instance.save writes (a round trip of the file's own floats, exact)
        assert text == Instance.from_json(text).to_json() + "\n", path.name
        names.append(inst.name)
    assert len(names) == 17
    assert {"paper-seed0", "paper-seed9", "small-seed4", "medium", "large"} <= set(names)


def _perturbed(d: dict, rel: float) -> dict:
    d = copy.deepcopy(d)
    old = d["channel_gain"][3][2]
    d["channel_gain"][3][2] = old * (1.0 + rel)
    assert d["channel_gain"][3][2] != old
    return d


def test_a_float_stale_by_1e_6_relative_is_caught_and_1e_15_is_not(repo_root):
    committed = json.loads((repo_root / "instances" / "paper-seed0.json").read_text())
    fresh = json.loads(generate_instance(seed=0).to_json())
    diff = close_tree_difference(_perturbed(committed, 1e-6), fresh)
    assert diff is not None and diff.startswith("$.channel_gain[3][2]:")
    with pytest.raises(AssertionError, match=r"channel_gain\[3\]\[2\]"):
        assert_close_tree(_perturbed(committed, 1e-6), fresh)
    assert_close_tree(_perturbed(committed, 1e-15), fresh)
    assert_close_tree(_perturbed(committed, -1e-15), fresh)


def test_make_instances_rewrites_and_checks_only_beyond_the_tolerance(repo_root, tmp_path, capsys):
    module = _make_instances_module(repo_root)
    assert module.main(["--out", str(tmp_path), "--check"]) == 1  # all missing
    assert module.main(["--out", str(tmp_path)]) == 0
    assert len(list(tmp_path.glob("*.json"))) == 17
    assert module.main(["--out", str(tmp_path), "--check"]) == 0
    path = tmp_path / "paper-seed0.json"
    d = json.loads(path.read_text())
    # a last-digit difference (another CPU's libm) is kept, not rewritten, and passes --check
    Instance.from_dict(_perturbed(d, 1e-15)).save(path)
    kept = path.read_text()
    assert module.main(["--out", str(tmp_path), "--check"]) == 0
    assert module.main(["--out", str(tmp_path)]) == 0
    assert path.read_text() == kept
    # a real change is reported by --check and rewritten by a plain run
    Instance.from_dict(_perturbed(d, 1e-6)).save(path)
    capsys.readouterr()
    assert module.main(["--out", str(tmp_path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "paper-seed0.json  stale ($.channel_gain[3][2]:" in out
    assert out.count("stale") == 1
    assert module.main(["--out", str(tmp_path)]) == 0
    assert path.read_text() == generate_instance(seed=0).to_json() + "\n"
    assert module.main(["--out", str(tmp_path), "--check"]) == 0


def test_benchmark_instance_sizes(repo_root):
    sizes = {
        "paper-seed7": (20, 5),
        "small-seed2": (6, 2),
        "medium": (200, 20),
        "large": (1000, 50),
    }
    for name, size in sizes.items():
        inst = Instance.load(repo_root / "instances" / f"{name}.json")
        assert (inst.n_vehicles, inst.n_rsus) == size
        assert inst.name == name


# ---------------------------------------------------------------------------
# sparse links: the K strongest plus the associated RSU (``links``, the sparse path)
# ---------------------------------------------------------------------------


def _per_vehicle(inst: Instance) -> list[tuple[np.ndarray, np.ndarray]]:
    v, r, g = inst.links
    starts = np.searchsorted(v, np.arange(inst.n_vehicles + 1))
    return [
        (r[starts[n] : starts[n + 1]], g[starts[n] : starts[n + 1]]) for n in range(len(starts) - 1)
    ]


@pytest.fixture
def sparse_path(monkeypatch):
    """Every size takes the sparse path (candidates from the KD-tree)."""
    monkeypatch.setattr(generate_module, "DENSE_MAX_PAIRS", 0)


def test_sparse_path_keeps_the_k_strongest_nearby_links_and_the_association(sparse_path):
    k = 4
    inst = generate_instance(seed=3, vehicles=300, rsus=60, links=k)
    dist = _distances(inst)
    np.testing.assert_array_equal(inst.association, np.argmin(dist, axis=1))
    rank = np.argsort(np.argsort(dist, axis=1), axis=1)  # 0 = nearest RSU
    extra = 0
    for n, (rsus, gains) in enumerate(_per_vehicle(inst)):
        assert inst.association[n] in rsus
        assert np.all(rank[n, rsus] < generate_module.CANDIDATE_FACTOR * k)  # candidates only
        others = rsus[rsus != inst.association[n]]
        if len(rsus) == k + 1:  # the associated RSU is weaker than the k kept ones
            extra += 1
            own = gains[rsus == inst.association[n]][0]
            assert np.all(gains[rsus != inst.association[n]] > own)
        else:
            assert len(rsus) == k and len(others) == k - 1
    assert 0 < extra < inst.n_vehicles  # shadowing sometimes beats the nearest RSU


def test_sparse_shadowing_is_gaussian_8_db_when_every_candidate_is_kept(sparse_path):
    inst = generate_instance(seed=2, vehicles=400, rsus=12, links=12)  # 4K >= M: all pairs
    assert len(inst.links[0]) == 400 * 12
    loss_db = 10.0 * np.log10(1.0 / inst.channel_gain)
    r = (loss_db - path_loss_db(_distances(inst))).ravel()
    assert abs(np.std(r) - 8.0) < 0.3 and abs(np.mean(r)) < 0.3


def test_sparse_draw_does_not_depend_on_the_block_size(sparse_path, monkeypatch):
    a = generate_instance(seed=5, vehicles=250, rsus=40, links=3)
    monkeypatch.setattr(generate_module, "SPARSE_BLOCK", 7)
    b = generate_instance(seed=5, vehicles=250, rsus=40, links=3)
    for x, y in zip(a.links, b.links, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.association, b.association)


def test_dense_path_with_links_prunes_the_same_draw():
    full = generate_instance(seed=4, vehicles=60, rsus=10)
    k = 3
    pruned = generate_instance(seed=4, vehicles=60, rsus=10, links=k)
    np.testing.assert_array_equal(pruned.vehicle["x_m"], full.vehicle["x_m"])
    np.testing.assert_array_equal(pruned.association, full.association)
    g = full.channel_gain
    for n, (rsus, gains) in enumerate(_per_vehicle(pruned)):
        np.testing.assert_array_equal(gains, g[n, rsus])  # the same draw, a subset of it
        strongest = set(np.argsort(-g[n])[:k]) | {int(full.association[n])}
        assert set(rsus.tolist()) == strongest


def test_default_links_keep_every_pair_of_a_small_instance():
    inst = generate_instance(seed=0)
    assert len(inst.links[0]) == inst.n_vehicles * inst.n_rsus
    assert "links" in {name for name, _, _ in generate_module.scenario_fields()}


def test_a_city_is_sparse_by_default():
    inst = generate_instance(seed=1, vehicles=10_000, rsus=2_500)
    assert inst.n_vehicles * inst.n_rsus > generate_module.DENSE_MAX_PAIRS
    counts = np.bincount(inst.links[0], minlength=inst.n_vehicles)
    k = generate_module.DEFAULT_SPARSE_LINKS
    assert counts.min() == k and counts.max() == k + 1
    sample = np.arange(0, 10_000, 97)
    d = np.hypot(
        inst.vehicle["x_m"][sample, None] - inst.rsu["x_m"][None, :],
        inst.vehicle["y_m"][sample, None] - inst.rsu["y_m"][None, :],
    )
    np.testing.assert_array_equal(inst.association[sample], np.argmin(d, axis=1))


def test_negative_links_are_refused():
    with pytest.raises(ValueError, match="links"):
        generate_instance(seed=0, links=-1)


def test_generate_command_takes_links(tmp_path):
    from llmv2x.cli import main

    out = tmp_path / "city.json"
    assert main(["instance", "generate", "--vehicles", "50", "--rsus", "20", "--links", "3",
                 "-o", str(out)]) == 0  # fmt: skip
    inst = Instance.load(out)
    counts = np.bincount(inst.links[0], minlength=50)
    assert counts.min() >= 3 and counts.max() <= 4
    assert json.loads(out.read_text())["format"] == "llmv2x-instance/2"
