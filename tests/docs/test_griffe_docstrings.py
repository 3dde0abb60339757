"""The API reference reads the package's docstrings as written (docs/_hooks/griffe_docstrings.py).

The docstrings put each description on the name's line (``kkt_tol : ...``). Griffe's NumPy
parser alone takes that text for a type and gives every name of a shared line the first
name's default; the extension that mkdocs.yml loads turns such items into canonical ones.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

griffe = pytest.importorskip("griffe")

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "_hooks" / "griffe_docstrings.py"


def _load(module: str, with_extension: bool):
    extensions = griffe.load_extensions(f"{HOOK}:NameColonDescription") if with_extension else None
    return griffe.load(module, search_paths=[str(ROOT / "src")], extensions=extensions)


def _params(func) -> dict:
    sections = func.docstring.parse("numpy")
    (section,) = [s for s in sections if s.kind.value == "parameters"]
    return {p.name: p for p in section.value}


def test_each_parameter_gets_its_own_default_and_a_description():
    params = _params(_load("llmv2x.solvers.sqp", True)["solve_sqp"])
    assert float(params["kkt_tol"].default) == pytest.approx(1e-9, rel=1e-12)
    assert float(params["step_tol"].default) == pytest.approx(1e-12, rel=1e-12)
    assert int(params["max_iter"].default) == 200
    assert str(params["kkt_tol"].annotation) == "float"
    assert "scaled KKT residual" in params["kkt_tol"].description
    assert "trust-region radius" in params["radius0"].description


def test_without_the_extension_the_description_is_read_as_a_type():
    """What the site showed before the extension: the reason it exists."""
    params = _params(_load("llmv2x.solvers.sqp", False)["solve_sqp"])
    assert str(params["kkt_tol"].default) == "200"
    assert params["kkt_tol"].description == ""


def test_attributes_and_returns_take_types_from_the_code():
    module = _load("llmv2x.solvers.exact", True)
    (returns,) = [
        s for s in module["solve_exact"].docstring.parse("numpy") if s.kind.value == "returns"
    ]
    assert str(returns.value[0].annotation) == "Result"
    assert "verified by the evaluator" in returns.value[0].description


def test_a_real_type_after_the_colon_is_left_alone():
    spec = importlib.util.spec_from_file_location("griffe_docstrings", HOOK)
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    text = "Sum.\n\nParameters\n----------\nx : int\n    the count.\ny, z : the two ends.\n"
    out = hook.rewrite(text)
    assert "x : int\n    the count." in out
    assert "y\n    the two ends.\nz\n    the two ends." in out
