"""Format 2 (columns, sparse links), Instance.from_arrays and the vectorised rules."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

import llmv2x
from llmv2x.errors import InstanceError, LlmV2xError
from llmv2x.instances import Instance, generate_instance, load_instance, schema
from llmv2x.instances.schema import RSU_FIELDS, VEHICLE_FIELDS


def _arrays(small_instance: Instance) -> dict:
    """from_arrays keywords of ``small_instance`` (N = 6, M = 2) with every pair a link."""
    inst = small_instance
    return {
        "name": "sparse",
        "seed": 5,
        "area_m": inst.area_m,
        "llm": {
            "layers": inst.layers,
            "hidden_size": inst.hidden_size,
            "batch_size": inst.batch_size,
            "activation_bits": inst.activation_bits_per_value,
        },
        "noise_psd_w_per_hz": inst.noise_psd_w_per_hz,
        "vehicle": {k: np.array(inst.vehicle[k]) for k in VEHICLE_FIELDS},
        "rsu": {k: np.array(inst.rsu[k]) for k in RSU_FIELDS},
        "links": tuple(np.array(a) for a in inst.links),
        "association": np.array(inst.association),
    }


@pytest.fixture
def sparse(small_instance) -> Instance:
    """N = 6, M = 3 (RSU 2 has no link at all); vehicle n links only to its own RSU and,
    for even n, the other one; links given out of order."""
    kw = _arrays(small_instance)
    kw["rsu"] = {k: np.append(v, v[0]) for k, v in kw["rsu"].items()}
    assoc = kw["association"]
    keep = (kw["links"][1] == assoc[kw["links"][0]]) | (kw["links"][0] % 2 == 0)
    links = tuple(a[keep][::-1] for a in kw["links"])
    kw["links"] = links
    return Instance.from_arrays(**kw)


# ---------------------------------------------------------------------------
# the object
# ---------------------------------------------------------------------------


def test_from_arrays_keeps_a_dense_instance_exactly(small_instance):
    again = Instance.from_arrays(
        **{**_arrays(small_instance), "name": small_instance.name, "seed": small_instance.seed}
    )
    assert again.to_dict() == small_instance.to_dict()
    np.testing.assert_array_equal(again.channel_gain, small_instance.channel_gain)


def test_sparse_links_are_sorted_and_the_dense_matrix_has_zeros(sparse, small_instance):
    lv, lr, lg = sparse.links
    keys = lv * sparse.n_rsus + lr
    assert np.all(np.diff(keys) > 0)
    assert sparse.n_rsus == 3 and sparse.n_links == 6 + 3
    assert not sparse.is_dense
    dense = sparse.channel_gain
    assert dense.shape == (6, 3) and np.all(dense[:, 2] == 0.0)
    for n in range(6):
        m = int(sparse.association[n])
        assert sparse.link_gain(n, m) == small_instance.channel_gain[n, m]
        assert sparse.gain[n] == small_instance.gain[n]
        assert sparse.link_gain(n, 2) == 0.0
        expected = [0, 1] if n % 2 == 0 else [m]
        assert sparse.candidates(n).tolist() == expected
        s = sparse.link_start
        assert lv[s[n] : s[n + 1]].tolist() == [n] * len(expected)
    assert len(sparse.members[2]) == 0 and 2 not in sparse.served_rsus.tolist()


def test_links_read_by_position_name_and_key(sparse):
    vehicle, rsu, gain = sparse.links
    assert sparse.links["rsu"] is rsu and sparse.links.gain is gain and sparse.links[0] is vehicle
    with pytest.raises(KeyError):
        sparse.links["loss_db"]


def test_arrays_are_read_only_and_not_shared(small_instance):
    kw = _arrays(small_instance)
    inst = Instance.from_arrays(**kw)
    for a in (*kw["vehicle"].values(), *kw["rsu"].values(), *kw["links"], kw["association"]):
        a[:] = 0  # the caller reuses its buffers
    assert inst.to_dict() == Instance.from_arrays(**_arrays(small_instance)).to_dict()
    for a in (*inst.links, inst.deadline_s, inst.link_start, inst.association_link):
        with pytest.raises(ValueError):
            a[0] = 0
    assert not inst.has_deadlines and not inst.has_energy_budgets


def test_dense_matrix_is_refused_when_too_large(sparse, monkeypatch):
    monkeypatch.setattr(schema, "DENSE_MAX_ENTRIES", 17)
    with pytest.raises(InstanceError, match=r"^channel_gain: a dense 6 x 3 matrix"):
        _ = sparse.channel_gain


def test_default_format_rule(small_instance, sparse, monkeypatch):
    assert small_instance.to_dict()["format"] == "llmv2x-instance/1"
    assert sparse.to_dict()["format"] == "llmv2x-instance/2"
    monkeypatch.setattr(schema, "FORMAT1_MAX_PAIRS", 11)
    assert small_instance.to_dict()["format"] == "llmv2x-instance/2"
    assert small_instance.to_dict(format=1)["format"] == "llmv2x-instance/1"


def test_format_1_refuses_a_sparse_instance(sparse):
    with pytest.raises(InstanceError, match="format 1 holds a dense channel_gain.*9 links"):
        sparse.to_dict(format=1)


# ---------------------------------------------------------------------------
# round trips (same process: exact equality is the contract)
# ---------------------------------------------------------------------------


def _same(a: Instance, b: Instance) -> None:
    assert a.to_dict(2) == b.to_dict(2)
    for x, y in zip(a.links, b.links, strict=True):
        np.testing.assert_array_equal(x, y)
        assert x.dtype == y.dtype
    for k in VEHICLE_FIELDS:
        np.testing.assert_array_equal(a.vehicle[k], b.vehicle[k])
        assert a.vehicle[k].dtype == b.vehicle[k].dtype
    np.testing.assert_array_equal(a.deadline_s, b.deadline_s)
    np.testing.assert_array_equal(a.energy_budget_j, b.energy_budget_j)


def test_format1_to_2_to_npz_to_2_to_1_is_exact(tmp_path):
    inst = generate_instance(seed=4, vehicles=30, rsus=7)
    f1 = tmp_path / "a.json"
    inst.save(f1)
    assert json.loads(f1.read_text())["format"] == "llmv2x-instance/1"
    a = load_instance(f1)
    f2 = tmp_path / "b.json"
    a.save(f2, format=2)
    assert json.loads(f2.read_text())["format"] == "llmv2x-instance/2"
    b = load_instance(f2)
    fz = tmp_path / "c.npz"
    b.save(fz)
    c = load_instance(fz)
    f3 = tmp_path / "d.json"
    c.save(f3, format=2)
    d = load_instance(f3)
    f4 = tmp_path / "e.json"
    d.save(f4, format=1)
    assert f4.read_text() == f1.read_text()
    assert f3.read_text() == f2.read_text()
    for x in (a, b, c, d):
        _same(x, inst)


def test_sparse_round_trips_through_json_and_npz(sparse, tmp_path):
    for name in ("s.json", "s.npz"):
        sparse.save(tmp_path / name)
        _same(load_instance(tmp_path / name), sparse)
    compact = sparse.to_json(indent=None)
    assert "\n" not in compact
    _same(Instance.from_json(compact), sparse)


def test_deadlines_and_budgets_round_trip_in_both_formats(small_instance, tmp_path):
    kw = _arrays(small_instance)
    kw["vehicle"]["deadline_s"] = np.array([0.5, np.nan, 2.0, np.nan, 1.0, 3.0])
    kw["vehicle"]["energy_budget_j"] = np.array([np.nan] * 5 + [40.0])
    inst = Instance.from_arrays(**kw)
    assert inst.has_deadlines and inst.has_energy_budgets
    d1 = inst.to_dict(1)
    assert d1["vehicles"][1]["deadline_s"] is None and d1["vehicles"][0]["deadline_s"] == 0.5
    d2 = inst.to_dict(2)
    assert d2["vehicles"]["energy_budget_j"][:2] == [None, None]
    for d in (d1, d2):
        _same(Instance.from_dict(json.loads(json.dumps(d))), inst)
    inst.save(tmp_path / "x.npz")
    _same(load_instance(tmp_path / "x.npz"), inst)
    # absent keys in some format 1 vehicles mean none
    del d1["vehicles"][2]["deadline_s"]
    assert np.isnan(Instance.from_dict(d1).deadline_s[2])


def test_solve_refuses_an_instance_with_deadlines(small_instance):
    kw = _arrays(small_instance)
    kw["vehicle"]["deadline_s"] = np.full(6, np.nan)
    kw["vehicle"]["deadline_s"][3] = 1.0
    with pytest.raises(LlmV2xError) as info:
        llmv2x.solve(Instance.from_arrays(**kw), method="local")
    assert str(info.value) == (
        "instance has per-vehicle deadlines (deadline_s); method local does not support them "
        "yet (methods minlp, exact and ao do)"
    )
    kw["vehicle"]["energy_budget_j"] = kw["vehicle"].pop("deadline_s")
    with pytest.raises(
        LlmV2xError, match=r"energy budgets \(energy_budget_j\); \w+( local)? does not support"
    ):
        llmv2x.solve(Instance.from_arrays(**kw), method="local")


# ---------------------------------------------------------------------------
# refusals naming field and index
# ---------------------------------------------------------------------------


@pytest.fixture
def data2(small_instance) -> dict:
    """A valid format 2 dictionary (N = 6, M = 2, every pair a link) to break."""
    return small_instance.to_dict(2)


def _put(d: dict, path: tuple, value) -> None:
    for key in path[:-1]:
        d = d[key]
    d[path[-1]] = value


REFUSALS2 = [
    ("kappa negative", ("vehicles", "kappa", 4), -1.0, "vehicles.kappa[4]: -1.0 must be positive"),
    ("kappa range", ("vehicles", "kappa", 1), 1.0, "vehicles.kappa[1]: 1.0 is outside"),
    ("tokens fraction", ("vehicles", "tokens", 2), 2.5, "vehicles.tokens[2]: 2.5 is not an"),
    (
        "tokens string",
        ("vehicles", "tokens", 2),
        "7",
        'vehicles.tokens[2]: expected a number, got "7"',
    ),
    ("tokens bool", ("vehicles", "tokens", 0), True, "vehicles.tokens[0]: expected a number"),
    ("huge int", ("vehicles", "x_m", 0), 10**400, "vehicles.x_m[0]: integer too large"),
    ("column short", ("vehicles", "p_max_w"), [1.0], "vehicles.p_max_w: expected 6 entries, got 1"),
    ("column not list", ("rsus", "kappa"), 3.0, "rsus.kappa: expected a list, got a number"),
    (
        "rsu bandwidth",
        ("rsus", "bandwidth_hz", 1),
        0.0,
        "rsus.bandwidth_hz[1]: 0.0 must be positive",
    ),
    ("p_min above p_max", ("vehicles", "p_min_w", 3), 25.0, "vehicles.p_min_w[3]: 25.0 is greater"),
    ("gain zero", ("links", "gain", 3), 0.0, "links.gain[3]: 0.0 must be positive"),
    ("gain huge", ("links", "gain", 3), 1e5, "links.gain[3]: 100000.0 is outside"),
    ("link vehicle range", ("links", "vehicle", 5), 6, "links.vehicle[5]: 6 is out of range for 6"),
    ("link rsu float", ("links", "rsu", 5), 1.0, "links.rsu[5]: expected an RSU index, got 1.0"),
    ("link rsu range", ("links", "rsu", 5), -1, "links.rsu[5]: -1 is out of range for 2 RSUs"),
    ("links short", ("links", "gain"), [1e-9], "links.gain: expected 12 entries, got 1"),
    ("association float", ("association", 4), 1.0, "association[4]: expected an RSU index"),
    ("association range", ("association", 4), 2, "association[4]: 2 is out of range for 2 RSUs"),
    (
        "deadline zero",
        ("vehicles", "deadline_s"),
        [1.0, 0.0, None, 1, 1, 1],
        "vehicles.deadline_s[1]: 0.0 must be positive",
    ),
    (
        "budget string",
        ("vehicles", "energy_budget_j"),
        [None, "x", 1, 1, 1, 1],
        "vehicles.energy_budget_j[1]: expected a number",
    ),
    ("unknown column", ("vehicles", "speed"), [1.0] * 6, "vehicles.speed: unknown field"),
    ("unknown link field", ("links", "loss_db"), [1.0] * 12, "links.loss_db: unknown field"),
    ("vehicles as list", ("vehicles",), [], "vehicles: expected an object of columns, got a list"),
    ("seed", ("seed",), 1.5, "seed: expected an integer or null, got 1.5"),
    # a required column given as null: named in JSON's words, not Python's ("got NoneType")
    ("column null", ("vehicles", "kappa"), None, "vehicles.kappa: expected a list, got null"),
]


def test_optional_column_null_is_absent(data2):
    """An optional column (deadline_s, energy_budget_j) given as null as a whole is read as
    absent, like an omitted one (it was refused with "got NoneType")."""
    _put(data2, ("vehicles", "deadline_s"), None)
    _put(data2, ("vehicles", "energy_budget_j"), None)
    inst = Instance.from_dict(data2)
    assert not inst.has_deadlines and not inst.has_energy_budgets


@pytest.mark.parametrize(
    ("path", "value", "message"), [r[1:] for r in REFUSALS2], ids=[r[0] for r in REFUSALS2]
)
def test_format2_refusals_name_field_and_index(data2, path, value, message):
    _put(data2, path, value)
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data2)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_repeated_pair_names_both_links(data2):
    links = data2["links"]
    links["vehicle"][5], links["rsu"][5] = 2, 0  # link 4 is (2, 0) already
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data2)
    assert str(info.value) == "links[5]: pair (vehicle 2, rsu 0) repeats links[4]"


def test_association_must_be_one_of_the_vehicles_links(data2):
    links = data2["links"]
    m = data2["association"][4]
    k = links["vehicle"].index(4) + m
    for col in links.values():
        del col[k]
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data2)
    assert str(info.value) == f"association[4]: rsu {m} is not one of vehicle 4's links"


def test_every_vehicle_needs_a_link(data2):
    links = data2["links"]
    for col in links.values():
        del col[6:8]  # both links of vehicle 3
    with pytest.raises(InstanceError, match=r"^links: vehicle 3 has no link"):
        Instance.from_dict(data2)


def test_snr_rule_names_the_associated_link_in_input_order(data2):
    links = data2["links"]
    for col in links.values():
        col.reverse()
    n = 2
    k = len(links["vehicle"]) - 1 - (2 * n + data2["association"][n])
    assert (links["vehicle"][k], links["rsu"][k]) == (n, data2["association"][n])
    links["gain"][k] = 1e-30
    with pytest.raises(InstanceError, match=rf"^links\.gain\[{k}\]: signal-to-noise ratio"):
        Instance.from_dict(data2)


def test_format_2_label_on_a_format_1_body_says_so(small_instance):
    d = small_instance.to_dict(1)
    d["format"] = "llmv2x-instance/2"
    with pytest.raises(InstanceError, match=r"^format: 'llmv2x-instance/2' has sparse links"):
        Instance.from_dict(d)


def test_format_1_deadline_names_the_vehicle(small_instance):
    d = small_instance.to_dict(1)
    d["vehicles"][3]["deadline_s"] = -2.0
    with pytest.raises(InstanceError, match=r"^vehicles\[3\]\.deadline_s: -2.0 must be positive"):
        Instance.from_dict(d)


def _set_vehicle(key: str, value) -> object:
    return lambda kw: kw["vehicle"].__setitem__(key, value)


FROM_ARRAYS_REFUSALS = {
    "bool column": (
        _set_vehicle("kappa", np.ones(6, dtype=bool)),
        "vehicles.kappa: expected numbers, got an array of bool",
    ),
    "2-D column": (
        _set_vehicle("f_max_hz", np.ones((6, 1))),
        "vehicles.f_max_hz: expected a one-dimensional array",
    ),
    "infinite deadline": (
        _set_vehicle("deadline_s", np.full(6, np.inf)),
        "vehicles.deadline_s[0]: inf is not finite",
    ),
    "text column": (
        _set_vehicle("x_m", np.array(["1"] * 6)),
        "vehicles.x_m: expected numbers, got an array of <U1",
    ),
    "float association": (
        lambda kw: kw.__setitem__("association", kw["association"].astype(float)),
        "association: expected integers, got an array of float64",
    ),
    "missing column": (lambda kw: kw["vehicle"].pop("kappa"), "vehicles.kappa: missing field"),
    "two link arrays": (
        lambda kw: kw.__setitem__("links", kw["links"][:2]),
        "links: expected three arrays",
    ),
    "numpy seed": (lambda kw: kw.__setitem__("seed", np.int64(3)), None),
}


@pytest.mark.parametrize(
    ("edit", "message"), list(FROM_ARRAYS_REFUSALS.values()), ids=list(FROM_ARRAYS_REFUSALS)
)
def test_from_arrays_checks_types_and_shapes(small_instance, edit, message):
    kw = _arrays(small_instance)
    edit(kw)
    if message is None:  # accepted
        assert Instance.from_arrays(**kw).seed == 3
        return
    with pytest.raises(InstanceError) as info:
        Instance.from_arrays(**kw)
    assert str(info.value).startswith(message), str(info.value)


# ---------------------------------------------------------------------------
# hostile .npz files
# ---------------------------------------------------------------------------


def _npz(tmp_path, sparse, **change) -> str:
    from llmv2x.instances.binary import to_arrays

    arrays = dict(to_arrays(sparse))
    for key, value in change.items():
        key = key.replace("__", ".")
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    path = tmp_path / "h.npz"
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"vehicles__kappa": np.array([object()] * 6, dtype=object)},
            "vehicles.kappa: holds pickled Python objects",
        ),
        ({"links__gain": None}, "links.gain: missing field"),
        ({"rsus__kappa": np.ones(2)}, "rsus.kappa: 2 entries where the other rsus entries have 3"),
        ({"extra": np.ones(2)}, "extra: unknown field"),
        ({"meta": np.array(b"{}")}, "meta: expected a JSON string"),
        ({"meta": np.array('{"format": "llmv2x-instance/1"}')}, "meta.name: missing field"),
        ({"links__vehicle": np.zeros(9)}, "links.vehicle: expected integers"),
    ],
)
def test_hostile_npz_is_one_line(tmp_path, sparse, change, message):
    path = _npz(tmp_path, sparse, **change)
    with pytest.raises(InstanceError) as info:
        load_instance(path)
    assert message in str(info.value) and "\n" not in str(info.value), str(info.value)


def test_npz_that_is_not_a_zip_is_one_line(tmp_path):
    path = tmp_path / "x.npz"
    path.write_text("{}")
    with pytest.raises(
        InstanceError, match=r"x\.npz: not a \.npz archive \(instance file\): not a zip file"
    ):
        load_instance(path)


def test_a_single_npy_array_or_a_pickle_named_npz_is_one_line(tmp_path):
    import pickle

    npy = tmp_path / "a.npz"
    with open(npy, "wb") as fh:
        np.save(fh, np.ones(3))
    with pytest.raises(InstanceError, match=r"a\.npz: a single \.npy array, not a \.npz archive"):
        load_instance(npy)
    pkl = tmp_path / "p.npz"
    pkl.write_bytes(pickle.dumps({"meta": "x"}))
    with pytest.raises(
        InstanceError, match=r"p\.npz: not a \.npz archive \(instance file\): not a zip file"
    ):
        load_instance(pkl)


# ---------------------------------------------------------------------------
# llmv2x instance convert
# ---------------------------------------------------------------------------


def test_cli_convert_between_all_three(tmp_path, capsys):
    from llmv2x.cli import main

    src = tmp_path / "in.json"
    generate_instance(seed=2).save(src)
    assert main(["instance", "convert", str(src), str(tmp_path / "two.json")]) == 0
    assert json.loads((tmp_path / "two.json").read_text())["format"] == "llmv2x-instance/2"
    assert main(["instance", "convert", str(tmp_path / "two.json"), str(tmp_path / "b.npz")]) == 0
    back = tmp_path / "one.json"
    assert main(["instance", "convert", str(tmp_path / "b.npz"), str(back), "--format", "1"]) == 0
    assert back.read_text() == src.read_text()
    assert "binary container" in capsys.readouterr().out
    assert main(["instance", "check", str(tmp_path / "b.npz")]) == 0


def test_cli_convert_sparse_to_format_1_is_one_line(tmp_path, sparse, capsys):
    from llmv2x.cli import main

    sparse.save(tmp_path / "s.npz")
    code = main(
        ["instance", "convert", str(tmp_path / "s.npz"), str(tmp_path / "o.json"), "--format", "1"]
    )
    err = capsys.readouterr().err
    assert code != 0 and err.count("\n") == 1 and "format 1 holds a dense" in err
    assert not (tmp_path / "o.json").exists()


def test_format2_dict_is_not_changed_by_validation(data2):
    before = copy.deepcopy(data2)
    Instance.from_dict(data2)
    assert data2 == before


def test_cli_check_summarises_many_rsus_and_counts_sparse_links(tmp_path, sparse, capsys):
    from llmv2x.cli import main

    sparse.save(tmp_path / "s.json")
    assert main(["instance", "check", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "3 RSUs, 9 links (vehicles per RSU: [" in out
    generate_instance(seed=0, vehicles=80, rsus=60).save(tmp_path / "wide.json")
    assert main(["instance", "check", str(tmp_path / "wide.json")]) == 0
    out = capsys.readouterr().out
    assert "60 RSUs (vehicles per RSU: min 0, mean 1.33, max " in out, out


@pytest.mark.parametrize("fmt", [1, 2])
def test_the_first_offending_index_is_named(small_instance, fmt):
    d = small_instance.to_dict(fmt)
    for n in (4, 1, 5):
        if fmt == 1:
            d["vehicles"][n]["kappa"] = -1.0
        else:
            d["vehicles"]["kappa"][n] = -1.0
    path = "vehicles[1].kappa" if fmt == 1 else "vehicles.kappa[1]"
    with pytest.raises(InstanceError, match=rf"^{re.escape(path)}: -1.0 must be positive$"):
        Instance.from_dict(d)


def test_compare_refuses_an_instance_with_energy_budgets(small_instance):
    from llmv2x.experiments.compare import compare
    from llmv2x.settings import SolveSettings

    kw = _arrays(small_instance)
    kw["vehicle"]["energy_budget_j"] = np.full(6, 5.0)
    with pytest.raises(
        LlmV2xError, match=r"energy budgets \(energy_budget_j\); \w+( local)? does not support"
    ):
        compare(Instance.from_arrays(**kw), SolveSettings(), methods=["local"])
