"""The Instance object and the ``llmv2x-instance/1`` format: round trips, immutability, rules."""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import stat

import numpy as np
import pytest

from llmv2x.errors import InstanceError, ResultError
from llmv2x.instances import Instance, generate_instance, load_instance
from llmv2x.instances.schema import RANGES
from llmv2x.models import physics
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import evaluate
from llmv2x.results import Result
from llmv2x.settings import SolveSettings


@pytest.fixture
def data(small_instance) -> dict:
    """A fresh, valid instance dictionary (docs/data-format.md) to break."""
    return small_instance.to_dict()


# ---------------------------------------------------------------------------
# round trips
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dict_round_trip_is_exact(seed):
    inst = generate_instance(seed=seed)
    d = inst.to_dict()
    again = Instance.from_dict(d)
    assert again.to_dict() == d
    assert again.to_json() == inst.to_json()
    np.testing.assert_array_equal(again.channel_gain, inst.channel_gain)


def test_json_text_round_trip_is_identical(paper_instance):
    text = paper_instance.to_json()
    assert Instance.from_json(text).to_json() == text
    compact = paper_instance.to_json(indent=None)
    assert Instance.from_json(compact).to_json() == text


def test_save_and_load_round_trip(paper_instance, tmp_path):
    path = tmp_path / "inst.json"
    paper_instance.save(path)
    assert Instance.load(path).to_json() == paper_instance.to_json()
    assert load_instance(path).to_json() == paper_instance.to_json()
    assert load_instance(str(path)).name == paper_instance.name


def test_load_instance_accepts_builtin_names_and_instances(paper_instance):
    assert load_instance("paper-seed0").to_json() == paper_instance.to_json()
    assert load_instance(paper_instance) is paper_instance


def test_to_dict_follows_the_spec_layout(small_instance):
    d = small_instance.to_dict()
    assert list(d) == [
        "format",
        "name",
        "seed",
        "area_m",
        "llm",
        "noise_psd_w_per_hz",
        "vehicles",
        "rsus",
        "channel_gain",
        "association",
    ]
    assert d["format"] == "llmv2x-instance/1"
    assert isinstance(d["vehicles"][0]["tokens"], int)
    assert isinstance(d["vehicles"][0]["gpu_cores"], int)
    assert isinstance(d["association"][0], int)
    assert len(d["channel_gain"]) == 6 and len(d["channel_gain"][0]) == 2


def test_integer_valued_floats_are_accepted_for_integer_fields(data):
    data["vehicles"][0]["tokens"] = 300.0
    data["llm"]["layers"] = 16.0
    inst = Instance.from_dict(data)
    assert inst.vehicle["tokens"][0] == 300 and inst.layers == 16
    assert isinstance(inst.to_dict()["vehicles"][0]["tokens"], int)


# ---------------------------------------------------------------------------
# immutability and derived quantities
# ---------------------------------------------------------------------------


def test_arrays_are_read_only(small_instance):
    with pytest.raises(ValueError):
        small_instance.channel_gain[0, 0] = 1.0
    with pytest.raises(ValueError):
        small_instance.association[0] = 1
    with pytest.raises(ValueError):
        small_instance.vehicle["tokens"][0] = 1
    with pytest.raises(ValueError):
        small_instance.rsu["bandwidth_hz"][0] = 1.0
    with pytest.raises(ValueError):
        small_instance.psi[0] = 1.0
    with pytest.raises(ValueError):
        small_instance.gain[0] = 1.0


def test_field_maps_and_attributes_cannot_be_replaced(small_instance):
    with pytest.raises(TypeError):
        small_instance.vehicle["tokens"] = np.zeros(6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        small_instance.name = "other"


def test_instance_does_not_share_memory_with_its_input(data):
    inst = Instance.from_dict(data)
    data["channel_gain"][0][0] = 123.0
    data["vehicles"][0]["tokens"] = 999
    assert inst.channel_gain[0, 0] != 123.0
    assert inst.vehicle["tokens"][0] != 999


def test_derived_quantities(small_instance):
    inst = small_instance
    n = np.arange(inst.n_vehicles)
    np.testing.assert_array_equal(inst.gain, inst.channel_gain[n, inst.association])
    tokens = inst.vehicle["tokens"].astype(float)
    np.testing.assert_array_equal(inst.psi, physics.flops_per_layer(tokens, 4096.0, 1))
    np.testing.assert_array_equal(inst.bits, tokens * 4096 * 16)
    for m, members in enumerate(inst.members):
        np.testing.assert_array_equal(members, np.flatnonzero(inst.association == m))
    np.testing.assert_array_equal(inst.rsu_of("f_max_hz"), inst.rsu["f_max_hz"][inst.association])


def test_an_rsu_that_serves_no_vehicle_is_valid(data):
    data["rsus"].append(copy.deepcopy(data["rsus"][0]))
    for row in data["channel_gain"]:
        row.append(1e-12)
    inst = Instance.from_dict(data)
    assert inst.n_rsus == 3
    assert len(inst.members[2]) == 0
    assert 2 not in set(inst.served_rsus.tolist())


# ---------------------------------------------------------------------------
# refusals: one message naming the field and index
# ---------------------------------------------------------------------------


def _set(path):
    """A mutation that sets data[path...] = value."""

    def mutate(d, value):
        target = d
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


REFUSALS = [
    # (case id, path, value, expected message start)
    ("format", ("format",), "llmv2x-instance/2", "format:"),
    ("name empty", ("name",), "", "name:"),
    ("seed string", ("seed",), "7", "seed:"),
    ("area too short", ("area_m",), [1000.0], "area_m:"),
    ("layers zero", ("llm", "layers"), 0, "llm.layers:"),
    ("hidden not integer", ("llm", "hidden_size"), 4096.5, "llm.hidden_size:"),
    ("noise negative", ("noise_psd_w_per_hz",), -1e-17, "noise_psd_w_per_hz:"),
    ("noise infinite", ("noise_psd_w_per_hz",), float("inf"), "noise_psd_w_per_hz:"),
    ("tokens fractional", ("vehicles", 3, "tokens"), 256.5, "vehicles[3].tokens:"),
    ("tokens zero", ("vehicles", 3, "tokens"), 0, "vehicles[3].tokens:"),
    ("tokens bool", ("vehicles", 3, "tokens"), True, "vehicles[3].tokens:"),
    ("kappa negative", ("vehicles", 1, "kappa"), -1.0, "vehicles[1].kappa:"),
    ("kappa nan", ("vehicles", 1, "kappa"), float("nan"), "vehicles[1].kappa:"),
    ("kappa huge integer", ("vehicles", 1, "kappa"), 10**400, "vehicles[1].kappa:"),
    ("cores huge", ("vehicles", 1, "gpu_cores"), 2**70, "vehicles[1].gpu_cores:"),
    ("p_min above p_max", ("vehicles", 2, "p_min_w"), 25.0, "vehicles[2].p_min_w:"),
    ("f_min above f_max", ("vehicles", 4, "f_min_hz"), 2.0e9, "vehicles[4].f_min_hz:"),
    ("x not a number", ("vehicles", 0, "x_m"), "12", "vehicles[0].x_m:"),
    ("bandwidth zero", ("rsus", 1, "bandwidth_hz"), 0.0, "rsus[1].bandwidth_hz:"),
    ("rsu kappa negative", ("rsus", 0, "kappa"), -2.0, "rsus[0].kappa:"),
    ("rsu f_max too small", ("rsus", 0, "f_max_hz"), 1.0e6, "rsus[0].f_max_hz:"),
    ("gain negative", ("channel_gain", 2, 1), -1e-12, "channel_gain[2][1]:"),
    ("gain zero", ("channel_gain", 2, 0), 0.0, "channel_gain[2][0]:"),
    ("gain row short", ("channel_gain", 2), [1e-12], "channel_gain[2]:"),
    ("gain rows", ("channel_gain",), [[1e-12, 1e-12]], "channel_gain:"),
    ("association range", ("association", 5), 2, "association[5]:"),
    ("association negative", ("association", 5), -1, "association[5]:"),
    ("association float", ("association", 5), 1.0, "association[5]:"),
    ("association short", ("association",), [0], "association:"),
    ("vehicles empty", ("vehicles",), [], "vehicles:"),
    ("rsus empty", ("rsus",), [], "rsus:"),
    ("vehicle not object", ("vehicles", 2), 5, "vehicles[2]:"),
]


@pytest.mark.parametrize(
    ("path", "value", "start"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refuses_broken_rule_naming_field_and_index(data, path, value, start):
    _set(path)(data, value)
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data)
    msg = str(info.value)
    assert msg.startswith(start), msg
    assert "\n" not in msg


def test_refuses_unknown_top_level_field(data):
    data["colour"] = "red"
    with pytest.raises(InstanceError, match=r"^colour: unknown field$"):
        Instance.from_dict(data)


def test_refuses_unknown_vehicle_field(data):
    data["vehicles"][4]["speed_mps"] = 10.0
    with pytest.raises(InstanceError, match=r"^vehicles\[4\]\.speed_mps: unknown field$"):
        Instance.from_dict(data)


def test_refuses_unknown_llm_field(data):
    data["llm"]["heads"] = 32
    with pytest.raises(InstanceError, match=r"^llm\.heads: unknown field$"):
        Instance.from_dict(data)


@pytest.mark.parametrize("field", ["association", "seed", "channel_gain", "llm"])
def test_refuses_missing_top_level_field(data, field):
    del data[field]
    with pytest.raises(InstanceError, match=rf"^{field}: missing field$"):
        Instance.from_dict(data)


def test_refuses_missing_rsu_field(data):
    del data["rsus"][1]["kappa"]
    with pytest.raises(InstanceError, match=r"^rsus\[1\]\.kappa: missing field$"):
        Instance.from_dict(data)


def test_p_min_message_gives_both_values(data):
    data["vehicles"][3]["p_min_w"] = 25.0
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data)
    assert str(info.value) == "vehicles[3].p_min_w: 25.0 is greater than p_max_w 20.0"


def test_association_message_gives_the_rsu_count(data):
    data["association"][5] = 7
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data)
    assert str(info.value) == "association[5]: 7 is out of range for 2 RSUs"


@pytest.mark.parametrize("text", ["{", "", "[1, 2]", "null", '"x"'])
def test_refuses_text_that_is_not_an_instance_object(text):
    with pytest.raises(InstanceError):
        Instance.from_json(text)


def test_refuses_missing_file(tmp_path):
    with pytest.raises(InstanceError, match="no such"):
        Instance.load(tmp_path / "nope.json")
    with pytest.raises(InstanceError, match="no such"):
        load_instance(tmp_path / "nope.json")


def test_refuses_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InstanceError, match="cannot read"):
        Instance.load(path)


def test_json_nan_literal_is_refused(data):
    text = json.dumps(data)
    text = text.replace(str(data["noise_psd_w_per_hz"]), "NaN", 1)
    with pytest.raises(InstanceError, match=r"^noise_psd_w_per_hz: NaN is not finite"):
        Instance.from_json(text)


# ---------------------------------------------------------------------------
# hostile files and physical ranges (docs/data-format.md, "Physical ranges")
# ---------------------------------------------------------------------------


def test_duplicate_key_is_refused_not_last_one_wins(data):
    text = json.dumps(data).replace(
        '"noise_psd_w_per_hz":', '"noise_psd_w_per_hz": -1.0, "noise_psd_w_per_hz":', 1
    )
    with pytest.raises(InstanceError, match="^duplicate key 'noise_psd_w_per_hz' in instance"):
        Instance.from_json(text)


def test_duplicate_key_inside_a_vehicle_names_the_vehicle(data):
    text = json.dumps(data).replace('"kappa":', '"kappa": 1.0, "kappa":', 1)
    with pytest.raises(InstanceError, match=r"^vehicles\[0\]: duplicate key 'kappa'$"):
        Instance.from_json(text)


def test_nesting_100000_deep_is_one_error():
    with pytest.raises(InstanceError, match="nested deeper than"):
        Instance.from_json("[" * 100_000 + "]" * 100_000)


def test_integer_of_5000_digits_is_one_error_naming_the_field(data):
    text = json.dumps(data).replace('"seed": 1', '"seed": ' + "7" * 5000, 1)
    with pytest.raises(InstanceError, match=r"^seed: integer of 5000 digits"):
        Instance.from_json(text)


@pytest.mark.parametrize(
    ("path", "value", "start"),
    [
        (("vehicles", 1, "kappa"), 1e308, "vehicles[1].kappa: 1e+308 is outside the physical"),
        (("vehicles", 1, "f_max_hz"), 1e308, "vehicles[1].f_max_hz: 1e+308 is outside"),
        (("vehicles", 1, "p_max_w"), 1e308, "vehicles[1].p_max_w: 1e+308 is outside"),
        (("rsus", 0, "f_max_hz"), 1e200, "rsus[0].f_max_hz: 1e+200 is outside"),
        (("rsus", 1, "kappa"), 1e-300, "rsus[1].kappa: 1e-300 is outside"),
        (("noise_psd_w_per_hz",), 1e-320, "noise_psd_w_per_hz: 1e-320 is outside"),
        (("channel_gain", 0, 0), 1e5, "channel_gain[0][0]: 100000.0 is outside"),
        (("llm", "hidden_size"), 10**9, "llm.hidden_size: 1000000000 is outside"),
        (("vehicles", 2, "tokens"), 10**12, "vehicles[2].tokens: 1000000000000 is outside"),
        (("area_m",), [1e300, 1000.0], "area_m[0]: 1e+300 is outside"),
    ],
)
def test_values_beyond_the_physical_ranges_are_refused(data, path, value, start):
    _set(path)(data, value)
    with pytest.raises(InstanceError) as info:
        Instance.from_dict(data)
    assert str(info.value).startswith(start), str(info.value)
    assert "docs/data-format.md" in str(info.value)


def test_a_signal_drowned_in_noise_is_refused(data):
    n = 3
    m = data["association"][n]
    data["channel_gain"][n][m] = 1e-30
    with pytest.raises(InstanceError, match=rf"^channel_gain\[{n}\]\[{m}\]: signal-to-noise"):
        Instance.from_dict(data)


def test_a_directory_is_named_as_such(tmp_path):
    with pytest.raises(InstanceError, match="is a directory, not an instance file"):
        Instance.load(tmp_path)
    with pytest.raises(InstanceError, match="is a directory, not an instance file"):
        load_instance(tmp_path)


def test_a_device_is_named_as_such():
    with pytest.raises(InstanceError, match="/dev/null is not a regular file"):
        load_instance("/dev/null")
    with pytest.raises(ResultError, match="/dev/null is not a regular file"):
        Result.load("/dev/null")


def test_save_is_atomic_and_keeps_the_umask_mode(small_instance, tmp_path):
    path = tmp_path / "inst.json"
    old = os.umask(0o022)
    try:
        small_instance.save(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["inst.json"]
    assert Instance.load(path).to_dict() == small_instance.to_dict()


def _corner(rng: np.random.Generator) -> dict:
    """A one-vehicle, one-RSU instance with every physical field at a random end of its range."""

    def end(key: str) -> float:
        return RANGES[key][int(rng.integers(2))]

    f_lo, f_hi = sorted((end("f_min_hz"), end("f_max_hz")))
    p_lo, p_hi = sorted((end("p_min_w"), end("p_max_w")))
    return {
        "format": "llmv2x-instance/1",
        "name": "corner",
        "seed": None,
        "area_m": [end("area_m"), end("area_m")],
        "llm": {k: int(end(k)) for k in ("layers", "hidden_size", "batch_size", "activation_bits")},
        "noise_psd_w_per_hz": end("noise_psd_w_per_hz"),
        "vehicles": [
            {
                "x_m": end("x_m"),
                "y_m": end("y_m"),
                "tokens": int(end("tokens")),
                "gpu_cores": int(end("gpu_cores")),
                "flops_per_cycle": end("flops_per_cycle"),
                "f_min_hz": f_lo,
                "f_max_hz": f_hi,
                "kappa": end("kappa"),
                "p_min_w": p_lo,
                "p_max_w": p_hi,
            }
        ],
        "rsus": [
            {
                "x_m": end("x_m"),
                "y_m": end("y_m"),
                "gpu_cores": int(end("gpu_cores")),
                "flops_per_cycle": end("flops_per_cycle"),
                "f_max_hz": max(end("f_max_hz"), 1e6),
                "kappa": end("kappa"),
                "bandwidth_hz": end("bandwidth_hz"),
            }
        ],
        "channel_gain": [[end("channel_gain")]],
        "association": [0],
    }


def test_objective_is_finite_at_every_accepted_corner_of_the_ranges():
    """Random corners of the ranges: each one is refused, or the objective (10) and the
    metrics are finite at the simplest points (either split, either power bound)."""
    rng = np.random.default_rng(9)
    accepted = 0
    for _ in range(400):
        try:
            inst = Instance.from_dict(_corner(rng))
        except InstanceError as exc:
            assert "signal-to-noise" in str(exc), str(exc)
            continue
        accepted += 1
        v, r = inst.vehicle, inst.rsu
        for alpha in (1.0, float(inst.layers)):
            for p in (v["p_min_w"], v["p_max_w"]):
                alloc = Allocation(
                    alpha=np.array([alpha]),
                    p_w=np.array(p, float),
                    b_hz=np.array(r["bandwidth_hz"], float),
                    f_vehicle_hz=np.array(v["f_max_hz"], float),
                    f_rsu_hz=np.array(r["f_max_hz"], float),
                )
                for variant in ("paper", "latency"):
                    ev = evaluate(inst, alloc, SolveSettings(omega_t=0.5, objective=variant))
                    assert ev.feasible
                    assert np.isfinite(ev.objective) and ev.objective > 0
                    assert all(np.isfinite(x) for x in ev.metrics.values()), ev.metrics
    assert accepted > 100
