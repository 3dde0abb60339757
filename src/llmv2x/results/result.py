"""The ``Result`` of a solve and its file forms (``llmv2x-result/2``, docs/result-format.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from llmv2x.errors import ResultError
from llmv2x.jsonio import loads_strict, write_atomic
from llmv2x.models.allocation import Allocation
from llmv2x.problem import Problem
from llmv2x.results import io
from llmv2x.results.parse import ARRAYS, FORMAT, STATUSES, check_fields

if TYPE_CHECKING:
    import pandas as pd

    from llmv2x.instances.schema import Instance


@dataclass(frozen=True, eq=False)
class Result:
    """One solve's answer; fields mirror ``llmv2x-result/2`` one to one.

    Build one with ``make_result``, which verifies the point with the evaluator.
    ``problem`` is the variant solved (docs/formulation.md#problem-variants); the file's
    ``association`` is ``allocation.association`` (None: the instance's, written ``null``).
    ``allocation`` is None only for a failed solve (status ``error``/``infeasible``/
    ``time_limit`` without an incumbent).
    """

    instance: str
    method: str
    objective_variant: str
    omega_t: float
    status: str
    objective: float | None
    lower_bound: float | None
    allocation: Allocation | None
    metrics: dict[str, float]
    solve_time_s: float
    solvers: dict[str, str] = field(default_factory=dict)
    iterations: int = 0
    message: str = ""
    problem: Problem = field(default_factory=Problem)
    #: iteration histories (pandas DataFrames) of the method; not part of the result file
    trace: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is not one of {STATUSES}")

    @property
    def ok(self) -> bool:
        """True when the result carries a verified feasible point."""
        return self.allocation is not None and self.status in (
            "optimal",
            "converged",
            "feasible",
            "time_limit",
        )

    @property
    def n_vehicles(self) -> int:
        """Number of vehicles of the point (0 when there is no point)."""
        return 0 if self.allocation is None else len(self.allocation.alpha)

    def _arrays(self) -> dict[str, np.ndarray]:
        a = self.allocation
        return {k: (getattr(a, k) if a is not None else np.zeros(0)) for k in ARRAYS}

    def _meta(self) -> dict[str, Any]:
        """Every field but the five arrays, in file order."""
        return {
            "format": FORMAT,
            "instance": self.instance,
            "method": self.method,
            "objective_variant": self.objective_variant,
            "omega_t": self.omega_t,
            "problem": self.problem.to_dict(),
            "status": self.status,
            "objective": self.objective,
            "lower_bound": self.lower_bound,
            "metrics": dict(self.metrics),
            "solve_time_s": self.solve_time_s,
            "solvers": dict(self.solvers),
            "iterations": self.iterations,
        }

    def _association(self) -> np.ndarray | None:
        """The association array of the file (empty without a point; None: the instance's)."""
        if self.allocation is None:
            return np.zeros(0, np.int64)
        return self.allocation.association

    def _fields(self) -> dict[str, Any]:
        """The result dictionary with the arrays as NumPy arrays, in file order."""
        meta = self._meta()
        order = list(meta)
        at = order.index("lower_bound") + 1
        keys = order[:at] + [*ARRAYS, "association"] + order[at:]
        d = {**meta, **self._arrays(), "association": self._association()}
        return {k: d[k] for k in keys}

    def to_dict(self) -> dict[str, Any]:
        """The result dictionary (docs/result-format.md): arrays as lists of Python numbers."""
        d = self._fields()
        for k in ARRAYS:
            d[k] = io._plain_list(d[k], k == "alpha")
        if d["association"] is not None:
            d["association"] = d["association"].tolist()
        return d

    def to_json(self) -> str:
        """result JSON (docs/result-format.md) text; never a ``NaN``/``Infinity`` token."""
        return io.json_text(self._fields(), f"result of {self.method}")

    def save(self, path: str | Path) -> None:
        """Write the result file atomically: ``.npz`` as the binary container, else JSON."""
        if io.is_binary_path(path):
            arrays, meta = self._arrays(), self._meta()
            assoc = self._association()
            if assoc is None:
                meta["association"] = None
            else:
                arrays["association"] = assoc
            io.write_npz(path, arrays, meta)
        else:
            write_atomic(path, self.to_json() + "\n")

    def to_frame(self, instance: Instance | None = None) -> pd.DataFrame:
        """A pandas DataFrame, one row per vehicle (docs/result-format.md#dataframes).

        Columns: ``vehicle``, ``rsu``, the five arrays, then the per-result fields. Given the
        ``instance`` that was solved, ``rsu`` is its association and the per-vehicle times and
        energies (the seven metrics per vehicle) are added; without it ``rsu`` is missing
        (``<NA>``). pandas is imported here.
        """
        from llmv2x.results.table import result_frame

        return result_frame(self, instance)

    def plot(self, instance: Instance, ax: Any = None, **kw: Any) -> Any:
        """Draw this result on ``instance``; a matplotlib Figure (docs/plotting.md).

        ``ax``: None (map, time and energy bars and a title), one Axes (the map only) or
        three Axes. Keywords go to ``llmv2x.plot.plot_result``; matplotlib is imported here.
        """
        from llmv2x.plot import plot_result

        return plot_result(instance, self, ax, **kw)

    @classmethod
    def from_dict(cls, d: Any) -> Result:
        """Parse a result dictionary (docs/result-format.md); no re-verification (see ``audit``).

        The arrays may be lists or NumPy arrays; they are checked with NumPy, and a refusal
        names the first bad index (``p_w[3]: ...``).
        """
        f = check_fields(d)  # format 1 or 2; format 1 reads as P1 on the instance's association
        arrays = f.pop("arrays")
        alloc = None if arrays is None else Allocation(**arrays)
        return cls(allocation=alloc, **f)

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Parse result JSON (docs/result-format.md) text."""
        return cls.from_dict(loads_strict(text, "result file", ResultError))

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """Read a result file: ``.npz`` as the binary container, else result JSON."""
        if io.is_binary_path(path):
            return cls.from_dict(io.read_npz(path))
        p = io.check_readable(path)
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise ResultError(f"{path}: cannot read: {exc}") from None
        return cls.from_json(text)
