"""The row oracle of ``llmv2x.solvers.certify``: its bound against a brute-force minimum, its
point against the row's constraints, and its infeasibility proofs (docs/exact.md, "The
problem family under fixed association")."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from llmv2x.instances import generate_instance
from llmv2x.models import physics
from llmv2x.problem import VARIANT_TOL, Problem
from llmv2x.settings import SolveSettings
from llmv2x.solvers.certify.oracle import Rows, row_oracle
from llmv2x.solvers.certify.rowmath import d1

FULL = Problem(budgets="inequality", deadlines=True, energy_budgets=True)


def _inst(seed: int = 1, tau_d: float = 1.3, tau_e: float = 1.1):
    return generate_instance(
        seed=seed, vehicles=8, rsus=3, deadline_tightness=tau_d, energy_tightness=tau_e
    )


def _row_data(inst, rows: Rows, r: int) -> dict:
    n, m = int(rows.vehicle[r]), int(rows.rsu[r])
    v, q = inst.vehicle, inst.rsu
    return {
        "psi": inst.psi[n],
        "cv": v["gpu_cores"][n] * v["flops_per_cycle"][n],
        "cm": q["gpu_cores"][m] * q["flops_per_cycle"][m],
        "kv": v["kappa"][n],
        "km": q["kappa"][m],
        "S": inst.bits[n],
        "k": rows.gain[r] / inst.noise_psd_w_per_hz,
        "pmin": v["p_min_w"][n],
        "pmax": v["p_max_w"][n],
        "fmin": v["f_min_hz"][n],
        "fmax": v["f_max_hz"][n],
        "D": inst.deadline_s[n],
        "E": inst.energy_budget_j[n],
    }


def _brute(inst, settings, rows: Rows, r: int, sigma: float, lam: float, gammas) -> float:
    """min over alpha in the row's range, gamma on a grid, and (f, f_r, b) by SLSQP (several
    starts) of the row's priced cost: an upper estimate of the true minimum."""
    d = _row_data(inst, rows, r)
    wt, we = settings.omega_t, 1.0 - settings.omega_t
    lt = wt if settings.latency else 0.0
    ups = inst.layers
    best = np.inf
    for a in range(int(rows.a_lo[r]), int(rows.a_hi[r]) + 1):
        tv, tr = a * d["psi"] / d["cv"], (ups - a) * d["psi"] / d["cm"]
        for g in gammas:
            lg = np.log2(1.0 + g)
            ec = d["S"] * g / (d["k"] * lg)
            blo = max(rows.b_lo[r], d["k"] * d["pmin"] / g)
            bhi = min(rows.b_hi[r], d["k"] * d["pmax"] / g)
            if blo > bhi or ec > d["E"]:
                continue
            sc = np.array([1e9, 1e9, bhi])  # SLSQP works on log(x / sc)

            def cost(z, tv=tv, tr=tr, ec=ec, lg=lg, sc=sc):
                f, fr, b = np.exp(z) * sc
                return (
                    tv * (wt / f + we * d["kv"] * f**2)
                    + tr * (wt / fr + we * d["km"] * fr**2)
                    + we * ec
                    + lt * d["S"] / (b * lg)
                    + sigma * fr
                    + lam * b
                )

            def slack(z, tv=tv, tr=tr, ec=ec, lg=lg, sc=sc):
                f, fr, b = np.exp(z) * sc
                return np.array(
                    [
                        1.0 - (tv / f + tr / fr + d["S"] / (b * lg)) / d["D"],
                        1.0 - (tv * d["kv"] * f**2 + ec) / d["E"],
                    ]
                )

            bounds = [
                (np.log(d["fmin"] / 1e9), np.log(d["fmax"] / 1e9)),
                (np.log(rows.f_lo[r] / 1e9), np.log(rows.f_hi[r] / 1e9)),
                (np.log(blo / bhi), 0.0),
            ]
            for t in (0.3, 0.7, 1.0):
                z0 = np.array([lo + t * (hi - lo) for lo, hi in bounds])
                res = minimize(
                    cost,
                    z0,
                    method="SLSQP",
                    bounds=bounds,
                    constraints=[{"type": "ineq", "fun": slack}],
                    options={"ftol": 1e-14, "maxiter": 300},
                )
                if res.success and np.all(slack(res.x) >= -1e-9):
                    best = min(best, float(res.fun))
    return best


@pytest.mark.parametrize(
    ("seed", "omega_t", "objective", "tau_d", "tau_e"),
    [(1, 0.5, "paper", 1.3, 1.1), (2, 0.2, "latency", 1.1, 1.05), (3, 0.8, "paper", 2.0, 3.0)],
)
def test_lower_below_brute_force_and_upper_at_it(seed, omega_t, objective, tau_d, tau_e):
    """(a) lower <= a brute-force minimum (alpha x gamma grid x SLSQP) and the point's value
    is not above it either (the grid only over-estimates the true minimum)."""
    inst = _inst(seed, tau_d, tau_e)
    s = SolveSettings(omega_t=omega_t, objective=objective)
    rows = Rows.fixed(inst, FULL)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(rows), 2, replace=False)
    for r in picks:
        best = row_oracle(inst, s, FULL, rows.take(np.array([r])), np.zeros(1), np.zeros(1))
        a = min(int(best.alpha[0]), inst.layers - 1)  # a feasible alpha and its neighbour
        sub = rows.take(np.array([r])).with_domain(a_lo=[a], a_hi=[a + 1])
        sigma = float(rng.uniform(-2e-9, 2e-9))
        lam = float(rng.uniform(0.0, 5e-7))
        rv = row_oracle(inst, s, FULL, sub, np.array([sigma]), np.array([lam]))
        gammas = np.geomspace(sub.g_lo[0], sub.g_hi[0], 60)
        gammas = np.sort(np.r_[gammas, _gamma(inst, sub, rv)])
        brute = _brute(inst, s, sub, 0, sigma, lam, gammas)
        assert np.isfinite(brute)
        assert rv.lower[0] <= brute + 1e-7 * abs(brute)
        assert rv.upper[0] <= brute + 1e-6 * abs(brute)
        assert rv.upper[0] - rv.lower[0] <= 5e-8 * abs(rv.upper[0])  # 3e-8 with a deadline


def _gamma(inst, rows: Rows, rv) -> float:
    return float(rows.gain[0] / inst.noise_psd_w_per_hz * rv.p[0] / rv.b[0])


@pytest.mark.parametrize("objective", ["paper", "latency"])
def test_point_feasible_and_valued(objective):
    """(a) The returned point keeps the row's bounds, deadline and energy budget and its value
    (recomputed with physics) is ``upper``; (b) the gap is at most ~eps on every row."""
    inst = _inst(4)
    s = SolveSettings(omega_t=0.4, objective=objective)
    rows = Rows.fixed(inst, FULL)
    rng = np.random.default_rng(7)
    sigma = rng.uniform(-1e-9, 1e-9, len(rows))
    lam = rng.uniform(0.0, 1e-6, len(rows))
    rv = row_oracle(inst, s, FULL, rows, sigma, lam)
    assert np.all(np.isfinite(rv.upper))
    assert np.all(rv.upper - rv.lower <= 5e-8 * np.abs(rv.upper))
    assert np.all(rv.lower <= rv.alpha_lower.min(axis=1) + 0.0)
    for r in range(len(rows)):
        n = int(rows.vehicle[r])
        d = _row_data(inst, rows, r)
        a, f, fr, p, b = rv.alpha[r], rv.f_vehicle[r], rv.f_rsu[r], rv.p[r], rv.b[r]
        assert a == round(a) and 1 <= a <= inst.layers
        assert d["fmin"] <= f <= d["fmax"] and rows.f_lo[r] <= fr <= rows.f_hi[r]
        assert d["pmin"] <= p <= d["pmax"] and rows.b_lo[r] <= b <= rows.b_hi[r]
        rate = physics.uplink_rate(b, p, rows.gain[r], inst.noise_psd_w_per_hz)
        v, q = inst.vehicle, inst.rsu
        m = int(rows.rsu[r])
        cost = (
            a
            * physics.layer_cost(
                s.omega_t, d["psi"], f, d["kv"], v["gpu_cores"][n], v["flops_per_cycle"][n]
            )
            + (inst.layers - a)
            * physics.layer_cost(
                s.omega_t, d["psi"], fr, d["km"], q["gpu_cores"][m], q["flops_per_cycle"][m]
            )
            + physics.transmit_cost(s.omega_t, p, d["S"], rate, s.latency)
        )
        assert rv.upper[r] == pytest.approx(cost + sigma[r] * fr + lam[r] * b, rel=1e-12)
        t = (
            a * d["psi"] / (d["cv"] * f)
            + (inst.layers - a) * d["psi"] / (d["cm"] * fr)
            + d["S"] / rate
        )
        energy = a * d["kv"] * d["psi"] / d["cv"] * f**2 + p * d["S"] / rate
        assert t <= d["D"] * (1 + VARIANT_TOL)
        assert energy <= d["E"] * (1 + VARIANT_TOL)


def test_negative_bandwidth_price_still_a_bound():
    """A negative lam gets the weak bound q(sigma, 0) + lam b_hi: still below the minimum."""
    inst = _inst(5)
    s = SolveSettings()
    rows = Rows.fixed(inst, FULL).take(np.array([0])).with_domain(a_lo=[3], a_hi=[4])
    lam = -2e-7
    rv = row_oracle(inst, s, FULL, rows, np.zeros(1), np.array([lam]))
    brute = _brute(inst, s, rows, 0, 0.0, lam, np.geomspace(rows.g_lo[0], rows.g_hi[0], 40))
    assert rv.lower[0] <= brute + 1e-7 * abs(brute)
    assert rv.upper[0] >= rv.lower[0]


def test_proven_infeasible_rows_really_are():
    """(c) A row is proven infeasible exactly when its deadline is below the fastest possible
    time (all alpha, f = f_max, f_r = its upper bound, b = its upper bound, p = p_max)."""
    inst = generate_instance(seed=6, vehicles=12, rsus=3, deadline_tightness=0.5)
    prob = Problem(budgets="inequality", deadlines=True)
    rows = Rows.fixed(inst, prob)
    rv = row_oracle(inst, SolveSettings(), prob, rows, np.zeros(len(rows)), np.zeros(len(rows)))
    fastest = np.empty(len(rows))
    for r in range(len(rows)):
        d = _row_data(inst, rows, r)
        a = np.arange(1, inst.layers + 1)
        comp = a * d["psi"] / (d["cv"] * d["fmax"]) + (inst.layers - a) * d["psi"] / (
            d["cm"] * rows.f_hi[r]
        )
        bh = rows.b_hi[r]
        fastest[r] = comp.min() + d["S"] / (bh * np.log2(1 + d["k"] * d["pmax"] / bh))
    deadline = inst.deadline_s[rows.vehicle]
    assert rv.infeasible.any() and not rv.infeasible.all()
    np.testing.assert_array_equal(rv.infeasible, fastest > deadline * (1 + VARIANT_TOL))
    assert np.all(np.isinf(rv.lower[rv.infeasible]))
    assert np.all(np.isinf(rv.upper[rv.infeasible]))


def test_d1_series_matches_high_precision():
    """log1p(g) - g/(1+g) is computed without cancellation for tiny SNRs (50-digit check)."""
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    for g in (1e-12, 1e-6, 3e-3, 0.5, 40.0):
        x = Decimal(g)
        exact = float((1 + x).ln() - x / (1 + x))
        assert d1(np.array([g]))[0] == pytest.approx(exact, rel=1e-13)


def test_snr_functions_are_convex_and_log_concave():
    """docs/exact.md 11.2: e^u / ln(1 + e^u) is convex and ln ln(1 + e^u) is concave in u
    (50-digit second differences on u in [-40, 40])."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    h = Decimal("1e-8")

    def phi(u: Decimal) -> Decimal:
        return u.exp() / (1 + u.exp()).ln()

    def lns(u: Decimal) -> Decimal:
        return (1 + u.exp()).ln().ln()

    for k in range(-80, 81):
        u = Decimal(k) / 2
        d2phi = (phi(u + h) - 2 * phi(u) + phi(u - h)) / (h * h)
        d2lns = (lns(u + h) - 2 * lns(u) + lns(u - h)) / (h * h)
        assert d2phi > 0, u
        assert d2lns < 0, u


@pytest.mark.parametrize("objective", ["paper", "latency"])
def test_compiled_g_matches_the_physics_formulas(objective):
    """docs/exact.md 11.3: the compiled G(u) (numba, ``rowjit``) is the Lagrangian's vehicle
    and radio part evaluated with ``physics`` at its own (f, b); no feasible (f, b) on a grid
    does better; f keeps the energy budget; dG is G's slope (central differences)."""
    from llmv2x.solvers.certify.oracle import _elements
    from llmv2x.solvers.certify.rowmath import g_value
    from llmv2x.solvers.certify.rowsearch import _energy_cap

    inst = _inst(2, 1.3, 1.1)
    s = SolveSettings(omega_t=0.4, objective=objective)
    rows = Rows.fixed(inst, FULL)
    rng = np.random.default_rng(7)
    lam = 10 ** rng.uniform(-8.0, -3.0, len(rows))  # b at its bounds (p's or b's) or inside
    e, x, _, _ = _elements(inst, s, FULL, rows, np.zeros(len(rows)), lam)
    e, empty = _energy_cap(e)  # u beyond the cap: f_min breaks the energy budget
    idx = rng.choice(np.flatnonzero(~empty), 12, replace=False)
    e, x = e.take(idx), x.take(idx)
    mu = rng.uniform(0.0, 50.0, idx.size)
    # near the ends too, where p_min or p_max sets b
    u = e.ulo + rng.choice([0.001, 0.01, 0.3, 0.6, 0.99, 0.999], idx.size) * (e.uhi - e.ulo)
    p = g_value(e, 1.0, mu, u)
    wt, we, lt = e.wt, e.we, e.lt

    def lagrangian(f, b):  # per element, with the evaluator's formulas
        gam = np.exp(u)
        rate = physics.uplink_rate(b, gam * b / e.k, x.gain, x.noise)
        t_cmp = x.alpha * physics.compute_time(x.psi, f, x.cv, x.dv)
        e_cmp = x.alpha * physics.compute_energy(x.psi, f, e.kv, x.cv, x.dv)
        e_com = physics.transmit_energy(gam * b / e.k, e.S, rate)
        t_com = physics.transmit_time(e.S, rate)
        val = (wt + mu) * t_cmp + we * (e_cmp + e_com) + (lt + mu) * t_com + e.lam * b
        return val, e_cmp + e_com

    val, energy = lagrangian(p.f, p.b)  # physics' log2(1 + gamma): ~1e-12 off at tiny SNRs
    np.testing.assert_allclose(p.G, val, rtol=1e-11)
    assert np.all(energy <= e.E * (1 + 1e-12))
    gam = np.exp(u)
    b_lo, b_hi = np.maximum(e.blo, e.k * e.pmin / gam), np.minimum(e.bhi, e.k * e.pmax / gam)
    assert np.all((p.b >= b_lo * (1 - 1e-12)) & (p.b <= b_hi * (1 + 1e-12)))
    for tf in np.linspace(0.0, 1.0, 15):
        for tb in np.linspace(0.0, 1.0, 15):
            f = e.fmin + tf * (e.fmax - e.fmin)
            b = b_lo + tb * (b_hi - b_lo)
            v, en = lagrangian(f, b)
            ok = en <= e.E
            assert np.all(p.G[ok] <= v[ok] * (1 + 1e-10))
    f_hi = np.minimum(e.fmax, np.sqrt(np.maximum(e.E - (energy - e.ev * p.f**2), 0) / e.ev))
    for step in (1e-3, -1e-3):  # locally optimal too (finer than the grid)
        for f, b in (
            (np.clip(p.f * (1 + step), e.fmin, f_hi), p.b),
            (p.f, np.clip(p.b * (1 + step), b_lo, b_hi)),
        ):
            assert np.all(p.G <= lagrangian(f, b)[0] * (1 + 1e-10))
    h = 1e-5
    gp, gm = g_value(e, 1.0, mu, u + h), g_value(e, 1.0, mu, u - h)
    fd = (gp.G - gm.G) / (2 * h)
    smooth = np.abs(gp.dG - gm.dG) <= 1e-3 * np.abs(p.dG) + 1e-12 * np.abs(p.G)  # no kink near
    assert smooth.sum() >= 6
    np.testing.assert_allclose(p.dG[smooth], fd[smooth], rtol=1e-5, atol=1e-9 * np.abs(p.G).max())
