"""Shared fixtures: small generated instances and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmv2x.instances import Instance, generate_instance
from llmv2x.settings import SolveSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTANCES_DIR = REPO_ROOT / "instances"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (holds ``instances/``, ``scripts/``, ``benchmarks/``)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def paper_instance() -> Instance:
    """The default default-scenario instance, seed 0 (N = 20, M = 5)."""
    return generate_instance(seed=0)


@pytest.fixture(scope="session")
def small_instance() -> Instance:
    """N = 6, M = 2, seed 1: both RSUs serve at least one vehicle."""
    inst = generate_instance(seed=1, name="small-seed1", vehicles=6, rsus=2)
    assert len(inst.served_rsus) == 2
    return inst


@pytest.fixture(scope="session")
def unserved_instance() -> Instance:
    """Few vehicles, many RSUs: at least one RSU serves nobody."""
    inst = generate_instance(seed=3, name="unserved", vehicles=4, rsus=9)
    assert len(inst.served_rsus) < inst.n_rsus
    return inst


@pytest.fixture
def settings() -> SolveSettings:
    """Default settings: omega_t = 0.5, objective ``paper``."""
    return SolveSettings()
