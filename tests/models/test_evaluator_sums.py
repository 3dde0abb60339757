"""The evaluator's per-RSU sums (10c), (10e), computed in one vectorised pass."""

from __future__ import annotations

import numpy as np
import pytest

from llmv2x.instances import generate_instance
from llmv2x.models.allocation import Allocation
from llmv2x.models.evaluator import violations


@pytest.fixture(scope="module")
def spread():
    """60 vehicles on 40 RSUs: many RSUs serve nobody."""
    inst = generate_instance(seed=9, vehicles=60, rsus=40, links=4)
    assert len(inst.served_rsus) < inst.n_rsus
    return inst


def _equal_shares(inst):
    counts = np.bincount(inst.association, minlength=inst.n_rsus)[inst.association]
    v = inst.vehicle
    return Allocation(
        alpha=np.ones(inst.n_vehicles),
        p_w=np.array(v["p_min_w"], float),
        b_hz=inst.rsu_of("bandwidth_hz") / counts,
        f_vehicle_hz=np.array(v["f_max_hz"], float),
        f_rsu_hz=inst.rsu_of("f_max_hz") / counts,
    )


def test_equal_shares_meet_every_rsu_sum(spread):
    viol = violations(spread, _equal_shares(spread))
    assert viol["10c"] < 1e-15 and viol["10e"] < 1e-15


@pytest.mark.parametrize(("key", "field"), [("10c", "b_hz"), ("10e", "f_rsu_hz")])
def test_one_rsu_over_its_budget_is_measured_relative_to_it(spread, key, field):
    alloc = _equal_shares(spread)
    m = int(spread.served_rsus[-1])
    n = int(np.flatnonzero(spread.association == m)[0])
    arrays = {
        k: getattr(alloc, k).copy() for k in ("alpha", "p_w", "b_hz", "f_vehicle_hz", "f_rsu_hz")
    }
    budget = spread.rsu["bandwidth_hz" if key == "10c" else "f_max_hz"][m]
    arrays[field][n] += 0.25 * budget
    viol = violations(spread, Allocation(**arrays))
    assert viol[key] == pytest.approx(0.25, rel=1e-12)
    other = "10e" if key == "10c" else "10c"
    assert viol[other] < 1e-15
