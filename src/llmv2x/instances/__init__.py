"""Instances: the validated data object and the default-scenario generator."""

from __future__ import annotations

from pathlib import Path

from llmv2x.errors import InstanceError
from llmv2x.instances.generate import (
    ScenarioParams,
    builtin_instance,
    generate_instance,
    is_builtin,
    path_loss_db,
)
from llmv2x.instances.schema import Instance


def load_instance(source: str | Path | Instance) -> Instance:
    """An instance from a file path, a built-in name (``paper-seed0``) or an Instance."""
    if isinstance(source, Instance):
        return source
    s = str(source)
    if is_builtin(s) and not Path(s).exists():
        return builtin_instance(s)
    if Path(s).is_dir():
        raise InstanceError(f"{s} is a directory, not an instance file")
    if not Path(s).exists():
        raise InstanceError(f"{s}: no such instance file or built-in instance name")
    return Instance.load(s)


__all__ = [
    "Instance",
    "ScenarioParams",
    "builtin_instance",
    "generate_instance",
    "is_builtin",
    "load_instance",
    "path_loss_db",
]
