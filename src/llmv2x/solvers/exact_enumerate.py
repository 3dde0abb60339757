"""Method ``exact``, step 3: candidate enumeration for RSUs with few up-sets.

An RSU whose dominance order has few up-sets (a chain of k vehicles has k + 1) is solved by
evaluating every up-set exactly; all candidates of all such RSUs go through one vectorised
multiplier search. The method's entry point is ``llmv2x.solvers.exact``, which decides
which RSUs are enumerated.
"""

from __future__ import annotations

import numpy as np

#: Largest number of (vehicle, candidate) pairs evaluated in one vectorised call.
_BATCH_PAIRS = 2_000_000


def _upsets(dominates: np.ndarray) -> np.ndarray:
    """Every up-set of a dominance order on k vehicles, as rows of a (count, k) offload mask."""
    k = len(dominates)
    masks = ((np.arange(2**k)[:, None] >> np.arange(k)[None, :]) & 1).astype(bool)
    # j offloads while some i dominating j does not: not an up-set
    blocked = (~masks).astype(np.int64) @ dominates.astype(np.int64) > 0
    return masks[~np.any(masks & blocked, axis=1)]


def _enumerate(p, order, starts, cands: dict[int, np.ndarray], best, offload) -> None:
    """Exact minimum over the given candidate offload sets of each RSU (leaf values, §5).

    ``cands[g]`` is a (count, k) boolean array over RSU g's vehicles in ``order``; the
    all-offload row is evaluated with the equality split, the others with the inequality.
    All candidates of all RSUs go through one vectorised multiplier search (in batches).
    Fills ``best`` and ``offload`` (indexed like ``order``) for those RSUs.
    """
    batch: list[int] = []
    pairs = 0

    def flush() -> None:
        if not batch:
            return
        counts = np.array([len(cands[g]) for g in batch])
        ks = np.array([cands[g].shape[1] for g in batch])
        n_groups = int(np.sum(counts))
        group = np.repeat(np.arange(n_groups), np.repeat(ks, counts))
        member_pos = np.concatenate(
            [
                np.tile(np.arange(starts[g], starts[g] + k), c)
                for g, k, c in zip(batch, ks, counts, strict=True)
            ]
        )
        mask = np.concatenate([cands[g].reshape(-1) for g in batch])
        values = p.leaf_values(order[member_pos], group, mask, n_groups)
        first = np.r_[0, np.cumsum(counts)[:-1]]
        for g, k, c, f0 in zip(batch, ks, counts, first, strict=True):
            i = int(np.argmin(values[f0 : f0 + c]))
            best[g] = values[f0 + i]
            offload[starts[g] : starts[g] + k] = cands[g][i]
        batch.clear()

    for g, c in cands.items():
        if batch and pairs + c.size > _BATCH_PAIRS:
            flush()
            pairs = 0
        batch.append(g)
        pairs += c.size
    flush()
