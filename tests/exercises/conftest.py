"""The exercises' reference answers live in docs/exercises/ (plain modules, not a package)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ANSWERS = Path(__file__).resolve().parents[2] / "docs" / "exercises"


@pytest.fixture(scope="session", autouse=True)
def _answers_on_path():
    sys.path.insert(0, str(ANSWERS))
    yield
    sys.path.remove(str(ANSWERS))


@pytest.fixture(scope="session")
def tutorial_instance():
    """The tutorial's instance: 6 vehicles, 2 RSUs (RSU 1 serves one vehicle)."""
    import llmv2x

    return llmv2x.generate_instance(seed=2, name="tutorial", vehicles=6, rsus=2)


@pytest.fixture(scope="session")
def tutorial_optimum(tutorial_instance):
    import llmv2x

    return llmv2x.solve(tutorial_instance, method="exact")
