"""Exercise 6: fixing p = p_min and alpha to its ends lifts SCIP's bound several-fold."""

from __future__ import annotations

import pytest

import llmv2x
from llmv2x.models.p1 import build_p1

TIME_LIMIT_S = 3.0


def test_reduced_model_gives_a_valid_and_much_stronger_bound(tutorial_instance, tutorial_optimum):
    import scip_reductions as sr

    settings = llmv2x.SolveSettings()
    best = tutorial_optimum.objective
    _, _, plain = sr.bound_after(build_p1(tutorial_instance, settings), TIME_LIMIT_S)
    _, incumbent, reduced = sr.bound_after(
        sr.build_p1_reduced(tutorial_instance, settings), TIME_LIMIT_S
    )
    assert plain is not None and reduced is not None
    assert plain <= best * (1 + 1e-6) and reduced <= best * (1 + 1e-6)  # both valid
    assert reduced > 3 * plain
    assert incumbent == pytest.approx(best, rel=1e-6)


def test_reduction_is_refused_under_latency(tutorial_instance):
    import scip_reductions as sr

    with pytest.raises(ValueError, match="paper"):
        sr.build_p1_reduced(tutorial_instance, llmv2x.SolveSettings(objective="latency"))
