"""``llmv2x.solve``: keywords and method options are checked, never silently ignored."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import llmv2x
from llmv2x.errors import SettingsError
from llmv2x.instances import generate_instance
from llmv2x.solvers.methods import METHODS, OPTIONS, check_options

SRC = Path(__file__).resolve().parents[1] / "src" / "llmv2x"


@pytest.fixture(scope="module")
def small():
    return generate_instance(seed=3, name="api-small", vehicles=4, rsus=2)


@pytest.mark.parametrize(
    ("method", "kw", "needles"),
    [
        ("ao", {"omgea_t": 0.9}, ["'omgea_t'", "method ao", "did you mean 'omega_t'", "valid:"]),
        ("ao", {"max_round": 1}, ["'max_round'", "did you mean 'max_rounds'", "recipe"]),
        ("exact", {"recipe": "paper"}, ["'recipe'", "method exact", "omega_t"]),
        ("rrlo", {"nlp_options": {}}, ["'nlp_options'", "method rrlo"]),
    ],
)
def test_unknown_keyword_is_refused_naming_the_valid_ones(small, method, kw, needles):
    with pytest.raises(SettingsError) as err:
        llmv2x.solve(small, method=method, **kw)
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_valid_keywords_list_settings_fields_then_the_method_options(small):
    with pytest.raises(SettingsError) as err:
        llmv2x.solve(small, method="ao", zzz=1)
    listed = str(err.value).split("valid: ")[1].split(", ")
    assert listed[0] == "omega_t"
    assert set(OPTIONS["ao"]) <= set(listed) and "formulation" not in listed


@pytest.mark.parametrize(
    ("method", "options", "needle"),
    [
        ("ao", {"foo": 1}, "unknown option 'foo' for method ao"),
        ("ao", {"max_rounds": "x"}, "max_rounds"),
        ("ao", {"max_rounds": 1.5}, "not an integer"),
        ("ao", {"max_rounds": True}, "not an integer"),
        ("ao", {"recipe": "fast"}, "improved, paper"),
        ("ao", {"nlp_options": "tol=1"}, "nlp_options"),
        ("ao", {"max_rounds": 0}, "below its minimum 1"),
        ("minlp", {"reductions": "no"}, "reductions"),
        ("initial", {"formulation": "strong"}, "method initial takes no options"),
        ("exact", {"formulation": "strong"}, "unknown option 'formulation' for method exact"),
        ("exact", {"executor": "threads"}, "serial, process, dask"),
        ("exact", {"workers": 0}, "below its minimum 1"),
        # a gap of inf or 2 let exact call any point optimal; nan was said to be "below 0"
        ("exact", {"gap": float("inf")}, "inf is not a finite number"),
        ("exact", {"gap": float("nan")}, "nan is not a finite number"),
        ("exact", {"gap": 2}, "2.0 must be below 1"),
        ("exact", {"gap": -1e-3}, "below its minimum 0"),
    ],
)
def test_bad_options_in_settings_are_refused(small, method, options, needle):
    settings = llmv2x.SolveSettings(options=options)
    with pytest.raises(SettingsError, match=re.escape(needle)):
        llmv2x.solve(small, method=method, settings=settings)


def test_an_int_is_accepted_for_a_float_option_and_numpy_scalars_for_numbers():
    assert check_options("ao", {"start_alpha": 1}) == {"start_alpha": 1.0}
    assert isinstance(check_options("ao", {"start_alpha": 1})["start_alpha"], float)
    got = check_options("ao", {"max_rounds": np.int64(3), "start_alpha": np.float32(2.5)})
    assert got == {"max_rounds": 3, "start_alpha": 2.5}
    assert type(got["max_rounds"]) is int and type(got["start_alpha"]) is float


def test_option_keyword_reaches_the_method(small):
    """``max_rounds=1`` is an AO option: the run stops after one round."""
    one = llmv2x.solve(small, method="ao", max_rounds=1)
    assert one.trace["ao"]["round"].max() == 1
    assert one.status in ("feasible", "converged")


def test_every_option_a_method_reads_is_declared():
    """Each ``opts.get("name"`` / ``settings.options.get("name"`` in the method code is in
    OPTIONS for a method that runs that code (ao.py for ao; fractional.py for every method
    that uses sub-problem II; minlp.py and p1_strong.py for minlp)."""
    readers = {
        "solvers/ao.py": {"ao"},
        "solvers/fractional.py": {"ao", "rlor", "local", "offload"},
        "solvers/minlp.py": {"minlp"},
        "models/p1_strong.py": {"minlp"},
        "solvers/chunks.py": {"exact"},
        "solvers/chunked_baselines.py": {"equal", "local", "offload"},
    }
    pattern = re.compile(r"(?:opts|options)\.get\(\s*\"(\w+)\"")
    for rel, methods in readers.items():
        names = set(pattern.findall((SRC / rel).read_text(encoding="utf-8")))
        assert names, rel
        for method in methods:
            missing = names - set(OPTIONS[method])
            assert not missing, f"{rel} reads {missing}, not declared for method {method}"


def test_every_method_declares_its_options():
    assert set(OPTIONS) == set(METHODS)
    for method, opts in OPTIONS.items():
        for name, opt in opts.items():
            assert opt.name == name and opt.help, (method, name)
            if opt.default is not None:
                assert opt.check(opt.default, method) == opt.default


def test_import_llmv2x_loads_no_numpy_and_names_resolve():
    code = (
        "import sys, llmv2x; print('numpy' in sys.modules); "
        "print(llmv2x.solve.__module__, llmv2x.Instance.__name__); print(llmv2x.__version__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split("\n")
    assert out[0] == "False"
    assert out[1] == "llmv2x.api Instance"
    assert out[2] == importlib.metadata.version("llmv2x")


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = llmv2x.no_such_name
