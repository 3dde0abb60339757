"""Priced starts of the family AO under ``association=decision``: the associations the
vehicles prefer at RSU prices, repaired by AO rounds and ``send_back``
(docs/algorithms.md#ao-for-the-problem-family, "Association as a decision"). Split from
``association`` (the house limit of ~400 lines per module)."""

from __future__ import annotations

from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Family, Point, run_family

#: master steps of the dual whose preferred associations AO tries as starts
PRICE_STEPS = 6
#: rounds of vehicles sent back to their start RSU to repair a priced association
REPAIRS = 4


def priced_starts(
    instance: Instance, settings: SolveSettings, problem: Problem, alloc: Any, deadline: Any
) -> list[Any]:
    """Points on the associations each vehicle prefers at RSU prices.

    The row oracle (``llmv2x.solvers.certify``) prices every link at zero prices and along
    ``PRICE_STEPS`` steps of the dual's master from the prices read off ``alloc``'s marginal
    costs; at each new set of preferred rows the shares are rescaled to the budgets, AO rounds
    repair and improve the point and ``send_back`` repairs what deadlines still break.
    Returned unchecked (the caller keeps one only if the evaluator accepts it and it is
    better)."""
    from llmv2x.solvers.certify import master, recovery
    from llmv2x.solvers.certify.association import Dual

    dual = Dual(instance, settings, problem)
    if dual.veh_infeasible.size:
        return []
    out: list[Any] = []
    seen: set[bytes] = set()

    def point(*_: Any) -> None:
        if deadline.expired() or dual.last_values is None:
            return
        start = recovery.argmin_start(instance, problem, dual.rows, dual.last_values)
        if start is None or start.association.tobytes() in seen:
            return
        seen.add(start.association.tobytes())
        pt = run_family(instance, settings, problem, start, 10, deadline, alpha=False)[0]
        pt = pt.allocation()
        out.append(send_back(instance, settings, problem, pt, alloc, deadline))

    dual(np.zeros(2 * instance.n_rsus))
    point()
    y0 = dual.start(alloc)
    delta0 = max(0.5 * float(np.max(np.abs(y0), initial=0.0)), 1e-9)
    master.maximise(
        dual, y0, *dual.box(), delta0, max_iter=PRICE_STEPS, deadline=deadline, on_value=point
    )
    return out


def send_back(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    alloc: Any,
    home: Any,
    deadline: Any,
    tries: int = REPAIRS,
) -> Any:
    """``alloc``, or when deadlines or energy budgets break at some RSUs, for each such RSU
    one vehicle moved back to its RSU in the feasible ``home`` (a broken vehicle away from
    home; when all are home: the newcomer with the largest frequency share there) and AO
    rounds re-run, up to ``tries`` times. One vehicle per broken RSU and round, not one
    per round as before (that ran up to 12 AO runs per priced start: 18 of AO's 26 s CPU
    under decision on instance 0 of the variants benchmark's "association+deadlines")."""
    from llmv2x.solvers.ao_family.association import moved

    fam = Family(instance, settings, problem)
    for _ in range(tries):
        ev = evaluate(instance, alloc, settings, problem=problem)
        if ev.feasible or deadline.expired():
            break
        pt = Point.of(alloc, instance)
        sends = []
        for m, idx in fam.members(pt).items():
            with np.errstate(all="ignore"):
                tc, ec, _ = fam.comm(idx, m, pt.p[idx], pt.b[idx])
                tk, ek, _ = fam.compute(idx, m, pt.alpha[idx], pt.fv[idx], pt.fr[idx])
            d, e = fam.dl[idx], fam.eb[idx]
            bad = ~(np.isnan(d) | (tk + tc <= d * (1 + 1e-7)))
            bad |= ~(np.isnan(e) | (ek + ec <= e * (1 + 1e-7)))
            if not bad.any():
                continue
            away = idx[bad & (home.association[idx] != m)]
            if away.size:
                sends.append(int(away[0]))
                continue
            new = idx[home.association[idx] != m]  # crowded at home: send back a newcomer
            if new.size:
                sends.append(int(new[np.argmax(pt.fr[new])]))
        if not sends:
            break
        for n in sends:
            pt = moved(fam, pt, n, int(home.association[n]))
        alloc = run_family(
            instance, settings, problem, pt.allocation(), 10, deadline, repair=True, alpha=False
        )[0]
        alloc = alloc.allocation()
    return alloc
