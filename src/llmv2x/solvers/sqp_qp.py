"""The step QP of the SQP (``llmv2x.solvers.sqp``): the Hessian made positive definite, and
the QP split into one small QP per RSU.

The Hessian of sub-problem I is indefinite (the alpha-f products); each vehicle's 3x3 block
is made positive definite by eigenvalue modification (|lambda|, floored at delta) and checked
by a Cholesky factorisation before every QP solve (HiGHS only checks the diagonal's signs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from llmv2x.errors import SolveError
from llmv2x.solvers.deadline import Deadline
from llmv2x.solvers.qp import QPOutcome

if TYPE_CHECKING:
    from llmv2x.solvers.sqp import SubproblemIData


def convexify(blocks: np.ndarray, delta_rel: float = 1e-8) -> tuple[np.ndarray, int]:
    """Eigenvalue modification of each 3x3 block: eigenvalues replaced by max(|l|, delta).

    Returns the modified blocks and how many blocks were changed. delta is ``delta_rel``
    times the block's largest |eigenvalue| (at least 1e-12), so the QP stays well posed.
    Done in the model's own variables (alpha, GHz): the result is not scale invariant, and
    this choice keeps the SQP's path close to IPOPT's on the same relaxation.
    """
    lam, Q = np.linalg.eigh(blocks)
    scale = np.maximum(np.max(np.abs(lam), axis=1, keepdims=True), 1e-12)
    new = np.maximum(np.abs(lam), delta_rel * scale)
    changed = int(np.sum(np.any(new != lam, axis=1)))
    return (Q * new[:, None, :]) @ np.transpose(Q, (0, 2, 1)), changed


def clean_blocks(blocks: np.ndarray, drop_abs: float) -> np.ndarray:
    """Zero entries below ``drop_abs`` (HiGHS ignores Hessian values under 1e-9), keeping each
    block positive definite: if dropping broke a block, its diagonal is raised until the
    Cholesky factorisation succeeds."""
    out = np.where(np.abs(blocks) < drop_abs, 0.0, blocks)
    out = 0.5 * (out + np.transpose(out, (0, 2, 1)))
    for _ in range(30):
        lam = np.linalg.eigvalsh(out)
        bad = lam[:, 0] <= 2 * drop_abs
        if not np.any(bad):
            break
        out[bad] += np.eye(3) * (4 * drop_abs - np.minimum(lam[bad, 0], 0.0))[:, None, None]
    return out


def check_positive_definite(blocks: np.ndarray) -> None:
    """Raise SolveError unless every block has a Cholesky factor (is positive definite)."""
    try:
        np.linalg.cholesky(0.5 * (blocks + np.transpose(blocks, (0, 2, 1))))
    except np.linalg.LinAlgError:
        raise SolveError("SQP: the QP Hessian is not positive definite") from None


#: Vehicles per step QP: RSUs are packed into QPs of at most this many vehicles (3 variables
#: each). HiGHS costs ~1 ms per call even for 12 variables, and its active-set solver slows
#: down on large QPs; measured per 12-variable block of a random QP: 1.3 ms alone, 0.47 ms
#: five to a QP, 0.52 ms ten to a QP, 1.5 ms twenty-five to a QP. AO's warm time on the
#: generated 200-vehicle instance (4 per RSU) with 10 / 20 / 40 / 60 / 80 / 120 here:
#: 0.83 / 0.56 / 0.47-0.53 / 0.51 / 0.62 / 0.95 s.
QP_CHUNK_VEHICLES = 40


class SeparableQP:
    """The step QP (35) split into independent QPs of whole RSUs, each with its own persistent
    session.

    The Hessian is block diagonal by vehicle and each row of (10e) touches the shares of one
    RSU only, so the QP is a sum of independent per-RSU QPs with identical solutions and
    multipliers. Small QPs are what HiGHS's active-set QP solver is fast at: on `large`
    (3,000 variables) one whole QP took ~10 s, 50 per-RSU QPs take milliseconds. RSUs with
    few vehicles are packed together, up to ``QP_CHUNK_VEHICLES`` vehicles per QP (an RSU
    with more is a QP of its own).
    """

    def __init__(
        self, backend: Any, data: SubproblemIData, A: sp.csr_matrix, options: dict[str, Any]
    ) -> None:
        n = data.n
        row = data._row_of_vehicle
        self.n, self.k = 3 * n, A.shape[0]
        #: each QP's own limit (``options["time_limit"]``), capped by a solve's time left
        self.qp_time_limit = options.get("time_limit")
        self.qp_time_limit = None if self.qp_time_limit is None else float(self.qp_time_limit)
        self.groups = []
        self.sessions = []
        #: per QP: its rows of (10e), its vehicles, and the CSC pattern of its Hessian with the
        #: position in it of every entry of those vehicles' 3x3 blocks (no sparse slicing per
        #: iteration)
        self.rows: list[np.ndarray] = []
        self.vehicles: list[np.ndarray] = []
        self.patterns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        members = [np.flatnonzero(row == r) for r in range(self.k)]
        chunk: list[int] = []
        for r in range(self.k + 1):
            size = sum(len(members[q]) for q in chunk)
            if chunk and (r == self.k or size + len(members[r]) > QP_CHUNK_VEHICLES):
                rows = np.array(chunk)
                veh = np.concatenate([members[q] for q in chunk])
                idx = np.concatenate([veh, n + veh, 2 * n + veh])
                self.rows.append(rows)
                self.groups.append(idx)
                self.vehicles.append(veh)
                self.patterns.append(_block_pattern(len(veh)))
                self.sessions.append(
                    backend.qp_session(A[rows][:, idx], np.zeros(len(rows)), options)
                )
                chunk = []
            if r < self.k:
                chunk.append(r)

    def solve_blocks(
        self,
        blocks: np.ndarray,
        g: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        deadline: Deadline | None = None,
    ) -> QPOutcome:
        """``solve`` with the Hessian given as its per-vehicle 3x3 blocks (N x 3 x 3), each
        QP's matrix gathered from them directly, already scaled as ``solve_unit_gradient``
        would scale it."""
        hessians, scales = [], []
        for idx, veh, (order, indices, indptr) in zip(
            self.groups, self.vehicles, self.patterns, strict=True
        ):
            c = _unit_scale(g[idx])
            data = blocks[veh].reshape(-1)[order] * c
            m = 3 * len(veh)
            hessians.append(sp.csc_matrix((data, indices, indptr), shape=(m, m)))
            scales.append(c)
        return self._solve_each(hessians, g, lo, hi, deadline, scales)

    def solve(
        self,
        H: sp.spmatrix,
        g: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        deadline: Deadline | None = None,
    ) -> QPOutcome:
        """Solve every QP; the first failure is returned with its RSU rows named.

        With a time limit, each QP gets the time left (its own limit capped by it), and
        the loop stops with status ``time_limit`` once ``deadline`` has passed.
        """
        H = sp.csr_matrix(H)
        hessians = [H[idx][:, idx].tocsc() for idx in self.groups]
        return self._solve_each(hessians, g, lo, hi, deadline)

    def _solve_each(
        self,
        hessians: list[sp.csc_matrix],
        g: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        deadline: Deadline | None,
        scales: list[float] | None = None,
    ) -> QPOutcome:
        """Every QP in turn (``scales``: the Hessians are already multiplied by these)."""
        x, y, z = np.zeros(self.n), np.zeros(self.k), np.zeros(self.n)
        limited = deadline is not None and deadline.limited
        for r, (idx, sess) in enumerate(zip(self.groups, self.sessions, strict=True)):
            if limited:
                if deadline.expired():
                    return QPOutcome("time_limit", x, y, z, "time limit of the solve reached")
                if hasattr(sess, "set_time_limit"):
                    sess.set_time_limit(deadline.budget(self.qp_time_limit))
            if scales is None:
                out = solve_unit_gradient(sess, hessians[r], g[idx], lo[idx], hi[idx])
            else:
                c = scales[r]
                out = sess.solve(hessians[r], g[idx] * c, lo[idx], hi[idx])
                out = QPOutcome(out.status, out.x, out.y / c, out.z / c, out.message)
            rows = self.rows[r]
            if not out.ok:
                return QPOutcome(
                    out.status, x, y, z, f"QP of RSU rows {rows.tolist()}: {out.message}"
                )
            x[idx], y[rows], z[idx] = out.x, out.y, out.z
        return QPOutcome("optimal", x, y, z, "")


def solve_unit_gradient(
    session: Any, H: sp.csc_matrix, g: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> QPOutcome:
    """``session.solve`` on the QP with its objective scaled so that max |g| = 1.

    Near the SQP's end one RSU's gradient can be 1e-4 of another's, and HiGHS's absolute
    tolerances then stalled such a QP (iteration limit) or ended it in "Solve error" (seen
    on a 10,000-vehicle instance). The step does not change; the multipliers are scaled back.
    """
    c = _unit_scale(g)
    out = session.solve(H * c, g * c, lo, hi)
    return QPOutcome(out.status, out.x, out.y / c, out.z / c, out.message)


def _unit_scale(g: np.ndarray) -> float:
    """1 / max |g| (1 for a zero gradient)."""
    gmax = float(np.max(np.abs(g), initial=0.0))
    return 1.0 / gmax if gmax > 0 else 1.0


def _block_pattern(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC pattern of the 3k x 3k Hessian of k vehicles in the order (alpha, f^V, f^R), each
    vehicle's 3x3 block at rows/columns (i, k + i, 2k + i): (order, indices, indptr), where
    ``blocks.reshape(-1)[order]`` are the CSC values."""
    pos = np.stack([np.arange(k), k + np.arange(k), 2 * k + np.arange(k)], axis=1)
    rows = np.repeat(pos, 3, axis=1).reshape(-1)
    cols = np.tile(pos, (1, 3)).reshape(-1)
    order = np.lexsort((rows, cols))  # column-major, rows sorted within a column
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=3 * k))])
    return order, rows[order].astype(np.int32), indptr.astype(np.int32)


#: Hessian entries below this (after scaling the QP) are dropped before the QP backend sees them
QP_DROP_ABS = 1e-8


def _scaled(out: QPOutcome, qs: float) -> QPOutcome:
    """Undo the objective scaling of a QP on its multipliers."""
    return QPOutcome(out.status, out.x, out.y / qs, out.z / qs, out.message)
