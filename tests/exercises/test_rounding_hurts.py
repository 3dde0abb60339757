"""Exercise 5: an instance where the paper's nearest rounding is clearly worse."""

from __future__ import annotations


def test_nearest_rounding_is_more_than_ten_percent_off_and_vertex_is_optimal():
    import rounding_hurts

    gaps = rounding_hurts.gaps()
    assert gaps["paper"] > 0.10
    assert abs(gaps["improved"]) < 1e-9
