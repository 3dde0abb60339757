"""Exercise 5, reference answer: an instance on which the paper's nearest rounding hurts.

Recipe: make the compute part matter and make a frequency sink necessary.

* A 40 dB better receiver (noise -174 dBm/Hz, the thermal floor) shortens every transmission,
  so the communication part no longer dwarfs the compute part.
* omega_t = 0.1 weighs energy heavily, so the RSU's cost-optimal share f*_R is small and three
  vehicles at f*_R use far less than the RSU's 1.41 GHz: equality (10e) then forces a sink.
* One RSU and three vehicles, so there is nowhere to hide.

The SQP stops at a relaxed point with two vehicles near alpha = Upsilon; rounding to the
nearest integer keeps both local, while one sink would do. ``recipe="improved"`` (vertex
rounding, the default) moves the second one back to alpha = 1.
"""

from __future__ import annotations

import llmv2x

SETTINGS = {"omega_t": 0.1}


def instance() -> llmv2x.Instance:
    """Three vehicles, one RSU, thermal-floor noise (seed 0)."""
    return llmv2x.generate_instance(
        seed=0, name="rounding-hurts", vehicles=3, rsus=1, noise_dbm_per_hz=-174.0
    )


def gaps() -> dict[str, float]:
    """Relative objective gap to the certified optimum for both AO recipes."""
    inst = instance()
    best = llmv2x.solve(inst, method="exact", **SETTINGS).objective
    out = {}
    for recipe in ("paper", "improved"):
        res = llmv2x.solve(inst, method="ao", recipe=recipe, **SETTINGS)
        out[recipe] = (res.objective - best) / best
    return out
