"""Priced starts of the family AO under ``association=decision``: the associations the
vehicles prefer at RSU prices, repaired by AO rounds, phase 1 (``phase1``) and ``send_back``
(docs/algorithms.md#ao-for-the-problem-family, "Association as a decision"). Split from
``association`` (the house limit of ~400 lines per module)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from llmv2x.instances.schema import Instance
from llmv2x.models.constants import B_FLOOR_HZ, F_RSU_FLOOR_HZ
from llmv2x.models.evaluator import evaluate
from llmv2x.problem import Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.ao_family import Family, Point, run_family
from llmv2x.solvers.ao_family.phase1 import load_repair, regrets

#: master steps of the dual (run to convergence, at most this many) when AO has no time limit
PRICE_STEPS = 60
#: share of AO's time limit the dual may take, when there is one
PRICE_SHARE = 0.4
#: argmin associations (of the improving prices, cheapest first) repaired as starts
PRICED_REPAIRS = 4
#: share of the time left after the dual that the repairs may take, with a time limit
REPAIR_SHARE = 0.6
#: shares of a priced start are raised to this multiple of their floors
FLOOR_MARGIN = 1.5
#: rounds of vehicles sent back to their start RSU to repair a priced association
REPAIRS = 4


def priced_starts(
    instance: Instance, settings: SolveSettings, problem: Problem, alloc: Any, deadline: Any
) -> tuple[list[Any], np.ndarray | None]:
    """Points on the associations each vehicle prefers at RSU prices from a converged dual.

    The dual of method ``exact`` under decision (``llmv2x.solvers.certify.association``,
    docs/exact.md section 12) is maximised by its master from the prices read off
    ``alloc``'s marginal costs, to convergence or ``PRICE_STEPS`` steps (with a time limit:
    at most ``PRICE_SHARE`` of it). The argmin associations at every improving price (the
    best last) and at zero prices, deduplicated, get shares rescaled to the budgets and
    raised to the floors (``floored``); at most ``PRICED_REPAIRS`` of them, cheapest
    rescaled point first (objective ignoring constraints), are repaired (``repaired``; with a
    time limit each gets an even part of ``REPAIR_SHARE`` of the time left). Returned
    unchecked (the caller keeps one only if the evaluator accepts it
    and it is better), with the regrets at the best price (``phase1.regrets``; None when
    the dual found none)."""
    from llmv2x.solvers.certify import master, recovery
    from llmv2x.solvers.certify.association import Dual
    from llmv2x.solvers.deadline import Deadline

    dual = Dual(instance, settings, problem)
    if dual.veh_infeasible.size:
        return [], None
    starts: list[tuple[int, Any]] = []  # (evaluation number, argmin start), improving only
    best = [-np.inf]

    def note(_: float = 0.0, value: float = np.inf) -> None:
        if dual.last_values is None or not value > best[0]:
            return
        best[0] = value
        start = recovery.argmin_start(instance, problem, dual.rows, dual.last_values)
        if start is not None:
            starts.append((dual.calls, (floored(instance, problem, start), prices())))

    def prices() -> np.ndarray:
        return regrets(dual.rows, dual.last_values, instance.n_vehicles, instance.n_rsus)

    dual(np.zeros(2 * instance.n_rsus))
    zero = recovery.argmin_start(instance, problem, dual.rows, dual.last_values)
    zero = None if zero is None else (floored(instance, problem, zero), prices())
    share = Deadline(
        PRICE_SHARE * deadline.time_limit if getattr(deadline, "limited", False) else None
    )

    class _Both:
        def expired(self) -> bool:
            return deadline.expired() or share.expired()

    y0 = dual.start(alloc)
    delta0 = max(0.5 * float(np.max(np.abs(y0), initial=0.0)), 1e-9)
    master.maximise(
        dual, y0, *dual.box(), delta0, max_iter=PRICE_STEPS, deadline=_Both(), on_value=note
    )
    cands, seen = [], {alloc.association.tobytes()}
    # every improving price's argmins, not only the last ones: on "association" instance 4
    # the last 12 gave 0.71 % above exact's optimum, all of them 0.08 %
    for item in [s for _, s in reversed(starts)] + [zero]:
        if item is None or item[0].association.tobytes() in seen:
            continue
        seen.add(item[0].association.tobytes())
        cost = evaluate(instance, item[0], settings, problem=problem).objective
        cands.append((cost if np.isfinite(cost) else np.inf, len(cands), item))
    out: list[Any] = []
    chosen = sorted(cands, key=lambda c: c[:2])[:PRICED_REPAIRS]
    # with a time limit: REPAIR_SHARE of the time left, split evenly (a repair's share not
    # used passes on to the next), the rest for the alpha-move step and the moves
    end = time.perf_counter() + REPAIR_SHARE * deadline.remaining()
    for i, (_, _, (start, q)) in enumerate(chosen):
        if deadline.expired():
            break
        box = Deadline((end - time.perf_counter()) / (len(chosen) - i))
        box = box if deadline.limited else deadline
        out.append(repaired(instance, settings, problem, start, q, alloc, box))
    return out, (starts[-1][1][1] if starts else None if zero is None else zero[1])


def repaired(
    instance: Instance,
    settings: SolveSettings,
    problem: Problem,
    start: Any,
    q: np.ndarray,
    home: Any,
    deadline: Any,
) -> Any:
    """A priced start after AO rounds; when they leave a limit broken, repaired by the
    moves of ``phase1.load_repair`` (regrets ``q``) and AO rounds, else by ``send_back``
    towards ``home``. Returned unchecked."""
    pt = run_family(instance, settings, problem, start, 10, deadline, alpha=False)[0]
    alloc = pt.allocation()
    if evaluate(instance, alloc, settings, problem=problem).feasible:
        return alloc
    fixed = load_repair(Family(instance, settings, problem), pt, q, deadline)
    if fixed is not None:
        out = run_family(
            instance, settings, problem, fixed.allocation(), 10, deadline, repair=True, alpha=False
        )[0].allocation()
        if evaluate(instance, out, settings, problem=problem).feasible:
            return out
    return send_back(instance, settings, problem, alloc, home, deadline)


def floored(instance: Instance, problem: Problem, start: Any) -> Any:
    """``start`` with every share at least ``FLOOR_MARGIN`` times its floor (b >= 1 kHz,
    f_nm >= 1 MHz, docs/formulation.md), the part above the floors rescaled per RSU to the
    budget (under inequality budgets only when it exceeds it). The dual's argmin rows give a
    vehicle that keeps every layer f_nm ~ 0, below the floor, and AO rounds from such a start
    did not lift it (association+deadlines instance 0 of the variants benchmark: the
    best-price start ended infeasible on ``floors``; with this it ends on a deadline, which
    ``send_back`` then repairs)."""
    assoc = np.asarray(start.association)
    out = {}
    for name, total, floor in (
        ("f_rsu_hz", instance.rsu["f_max_hz"], F_RSU_FLOOR_HZ),
        ("b_hz", instance.rsu["bandwidth_hz"], B_FLOOR_HZ),
    ):
        x = np.maximum(np.asarray(getattr(start, name), float), FLOOR_MARGIN * floor)
        low = FLOOR_MARGIN * floor
        for m in np.unique(assoc):
            at = assoc == m
            room = float(total[m]) - low * int(at.sum())
            extra = x[at] - low
            if room <= 0:
                continue
            used = float(extra.sum())
            if used <= 0:
                x[at] = low + room / int(at.sum())
            elif not problem.inequality or used > room:
                x[at] = low + extra * (room / used)
        out[name] = x
    return start.replace(**out)


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
