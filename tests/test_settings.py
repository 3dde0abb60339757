"""SolveSettings refuses a value of the wrong type in one line naming the field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from llmv2x.errors import SettingsError
from llmv2x.settings import SolveSettings


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"omega_t": "0.5"}, "omega_t"),
        ({"omega_t": 1.5}, "omega_t"),
        ({"time_limit": "abc"}, "time_limit"),
        ({"time_limit": math.nan}, "time_limit"),
        ({"time_limit": 0}, "time_limit"),
        ({"qp_backend": 3}, "qp_backend"),
        ({"nlp_backend": ""}, "nlp_backend"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"tol": -1e-9}, "tol"),
        ({"gap": math.inf}, "gap"),
        ({"verbose": "yes"}, "verbose"),
        ({"options": [("recipe", "paper")]}, "options"),
        ({"options": {1: "x"}}, "options"),
        ({"objective": "fastest"}, "objective"),
    ],
)
def test_wrong_values_are_refused_naming_the_field(kw, needle):
    with pytest.raises(SettingsError) as err:
        SolveSettings(**kw)
    assert str(err.value).startswith(needle), err.value
    assert "\n" not in str(err.value)


def test_numbers_of_other_types_are_accepted():
    s = SolveSettings(omega_t=np.float64(0.25), time_limit=5, seed=np.int64(7), tol=1e-6)
    assert s.omega_t == pytest.approx(0.25)
    assert s.time_limit == 5 and s.seed == 7
    assert s.omega_e == pytest.approx(0.75)


def test_with_checks_the_new_values_too():
    with pytest.raises(SettingsError, match="seed"):
        SolveSettings().with_(seed="7")
