"""The siting solver: exact MILP = brute force on small instances, greedy ≥ (1 − 1/e)·optimum, locked sites,
budget, capacity, clear errors for bad parameters; the improvement step (interchange, LP rounding) within 1 % of the
optimum on the Aachen instance up to K = 100, and the printed gap certificate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from netzatlas.coverage.interchange import cover_count, interchange, marginal_gains, swap_deltas
from netzatlas.coverage.siting import (
    brute_force,
    certified_greedy,
    coverage_matrix,
    covered_by,
    gap_certificate,
    greedy,
    improve,
    solve_milp,
)
from netzatlas.coverage.siting_model import lp_relaxation, reduce_demand
from netzatlas.errors import InvalidParameter


def instance(seed: int, n_d: int = 60, n_c: int = 12, radius: float = 250.0):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 1000, (n_d, 2))
    c = rng.uniform(0, 1000, (n_c, 2))
    w = rng.integers(1, 20, n_d).astype(float)
    return coverage_matrix(d, c, radius), w, d, c


def test_coverage_matrix_hand_checked():
    a = coverage_matrix(np.array([[0, 0], [100, 0], [300, 0]]), np.array([[0, 0], [250, 0]]), 100.0)
    assert a.toarray().tolist() == [[True, False], [True, False], [False, True]]
    a = coverage_matrix(np.array([[0, 0], [100, 0]]), np.array([[0, 0], [250, 0]]), np.array([50.0, 160.0]))
    assert a.toarray().tolist() == [[True, False], [False, True]]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_milp_equals_brute_force_and_greedy_bound(seed, k):
    a, w, _, _ = instance(seed)
    opt = brute_force(a, w, k)
    exact = solve_milp(a, w, k)
    g = greedy(a, w, k)
    assert exact.covered_weight == pytest.approx(opt.covered_weight)
    assert covered_by(a, w, exact.chosen) == pytest.approx(exact.covered_weight)
    assert g.covered_weight >= (1 - 1 / math.e) * opt.covered_weight - 1e-9
    assert g.covered_weight <= opt.covered_weight + 1e-9 and len(g.chosen) <= k
    assert exact.gap is not None and exact.gap <= 1e-6


def test_locked_sites_are_kept_and_counted():
    a, w, _, _ = instance(3)
    g = greedy(a, w, 2, locked=[0, 5])
    m = solve_milp(a, w, 2, locked=[0, 5])
    opt = brute_force(a, w, 2, locked=[0, 5])
    assert g.locked == [0, 5] and not {0, 5} & set(g.chosen)
    assert not {0, 5} & set(m.chosen) and len(m.chosen) <= 2
    assert m.covered_weight == pytest.approx(opt.covered_weight)
    assert g.covered_weight == pytest.approx(covered_by(a, w, [0, 5, *g.chosen]))


def test_budget_is_respected():
    a, w, _, _ = instance(4)
    costs = np.linspace(1, 6, a.shape[1])
    for budget in (3.0, 7.5, 12.0):
        g = greedy(a, w, budget=budget, costs=costs)
        m = solve_milp(a, w, budget=budget, costs=costs)
        assert costs[g.chosen].sum() <= budget + 1e-9 and costs[m.chosen].sum() <= budget + 1e-9
        assert m.covered_weight >= g.covered_weight - 1e-9


def test_capacity_is_respected():
    # one candidate reaching all demand, capacity 10: at most 10 weight served
    a = coverage_matrix(np.array([[0, 0], [10, 0], [20, 0]]), np.array([[10, 0], [500, 500]]), 50.0)
    w = np.array([8.0, 8.0, 8.0])
    g = greedy(a, w, 1, capacity=10)
    m = solve_milp(a, w, 1, capacity=10)
    assert g.covered_weight == pytest.approx(10) and m.covered_weight == pytest.approx(10)
    assert solve_milp(a, w, 1).covered_weight == pytest.approx(24)


@pytest.mark.parametrize("call,match", [
    (lambda a, w: greedy(a, w, -1), "must be >= 0"),
    (lambda a, w: greedy(a, np.r_[w[:-1], np.nan], 2), "NaN"),
    (lambda a, w: greedy(a, w, 2, locked=[99]), "out of range"),
    (lambda a, w: greedy(a, w, budget=-1, costs=np.ones(a.shape[1])), "budget"),
    (lambda a, w: greedy(a, w), "number of new sites"),
    (lambda a, w: greedy(a, w, 1, capacity=0), "capacity"),
])
def test_bad_parameters(call, match):
    a, w, _, _ = instance(1)
    with pytest.raises(InvalidParameter, match=match):
        call(a, w)


def test_bad_geometry_parameters():
    with pytest.raises(InvalidParameter, match="radius"):
        coverage_matrix(np.zeros((2, 2)), np.zeros((2, 2)), 0.0)
    with pytest.raises(InvalidParameter, match="no candidate"):
        coverage_matrix(np.zeros((2, 2)), np.zeros((0, 2)), 10.0)
    with pytest.raises(InvalidParameter, match="no candidate"):
        greedy(sparse.csc_matrix((3, 0), dtype=bool), np.ones(3), 1)


def test_milp_time_limit_without_solution_is_reported_not_raised():
    a, w, _, _ = instance(2, n_d=400, n_c=60)
    r = solve_milp(a, w, 10, time_limit=1e-9)
    assert r.status.startswith("no solution") or r.status == "optimal" or r.status.startswith("stopped")


# --- improvement step (interchange, LP rounding), reduced model and the gap certificate (issue #15) ---------------


def _no_improving_swap(a, w, sites, locked=()):
    """Every single exchange, tried by brute force: none covers more."""
    here = covered_by(a, w, [*locked, *sites])
    for i in range(len(sites)):
        for c in range(a.shape[1]):
            if c in sites or c in locked:
                continue
            other = [*sites[:i], c, *sites[i + 1:]]
            if covered_by(a, w, [*locked, *other]) > here + 1e-9:
                return False
    return True


@pytest.mark.parametrize("seed", range(5))
def test_interchange_reaches_a_swap_optimum_and_never_loses(seed):
    a, w, _, _ = instance(seed, n_d=120, n_c=25, radius=200.0)
    g = greedy(a, w, 4, locked=[0])
    sites, swaps = interchange(a, w, g.chosen, locked=[0])
    assert len(sites) == len(g.chosen) and 0 not in sites and len(set(sites)) == len(sites)
    assert covered_by(a, w, [0, *sites]) >= g.covered_weight - 1e-9
    assert _no_improving_swap(a, w, sites, locked=[0])
    assert swaps >= 0


def test_swap_deltas_equal_recomputed_coverage():
    a, w, _, _ = instance(7, n_d=80, n_c=15)
    sites = [1, 4, 9]
    delta = swap_deltas(sparse.csc_matrix(a), sparse.csc_matrix(a).T.tocsr().astype(float), w,
                        cover_count(sparse.csc_matrix(a), sites), sites)
    base = covered_by(a, w, sites)
    for c in (0, 2, 3, 14):
        for i in range(3):
            other = [*sites[:i], c, *sites[i + 1:]]
            assert delta[c, i] == pytest.approx(covered_by(a, w, other) - base)


def test_reduce_demand_merges_identical_rows_and_counts_locked_weight():
    # rows 0 and 1 reach the same candidates, row 2 only the locked one, row 3 nothing, row 4 has weight 0
    a = sparse.csc_matrix(np.array([[1, 1, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]], dtype=bool))
    r = reduce_demand(a, np.array([2.0, 3.0, 7.0, 5.0, 0.0]), locked=[2])
    assert r.fixed == 7.0
    assert r.a.shape == (1, 3) and r.a.toarray().tolist() == [[True, True, False]] and r.w.tolist() == [5.0]


def test_marginal_gains_sum_to_the_new_coverage():
    a, w, _, _ = instance(3)
    gains = marginal_gains(a, w, [2, 5, 7], locked=[0])
    assert sum(gains) == pytest.approx(covered_by(a, w, [0, 2, 5, 7]) - covered_by(a, w, [0]))


@pytest.mark.parametrize("seed", range(4))
def test_improve_matches_brute_force_optimum_on_small_instances(seed):
    a, w, _, _ = instance(seed, n_d=90, n_c=14)
    opt = brute_force(a, w, 4, locked=[1])
    r = improve(a, w, greedy(a, w, 4, locked=[1]), 4)
    assert covered_by(a, w, [1, *r.chosen]) == pytest.approx(r.covered_weight)
    assert r.covered_weight <= opt.covered_weight + 1e-9
    assert r.bound is not None and r.bound >= opt.covered_weight - 1e-6  # the LP bound is an upper bound
    assert r.gap == pytest.approx((r.bound - r.covered_weight) / r.bound)
    assert sum(r.gains) == pytest.approx(r.covered_weight - covered_by(a, w, [1]))


def test_lp_relaxation_bounds_the_milp():
    a, w, _, _ = instance(5, n_d=200, n_c=30)
    red = reduce_demand(a, w, [3])
    bound, x = lp_relaxation(red, 5, [3])
    m = solve_milp(a, w, 5, locked=[3])
    assert bound >= m.covered_weight - 1e-6 and x is not None and x.sum() <= 6 + 1e-6


def test_gap_certificate_text_is_computed_from_the_bounds():
    a, w, _, _ = instance(4, n_d=200, n_c=30)
    g, exact = certified_greedy(a, w, 6, locked=[0])
    assert exact is not None and exact.status == "optimal"
    assert g.gap == pytest.approx(max(0.0, (exact.bound - g.covered_weight) / exact.bound))
    line = gap_certificate(g, exact)
    assert f"{g.gap:.2%}" in line and "exact optimum" in line and f"{exact.covered_weight:,.0f}" in line
    lp_only, none = certified_greedy(a, w, 6, locked=[0], certify=False)
    assert none is None and "LP relaxation bound" in gap_certificate(lp_only, None)
    assert lp_only.bound >= exact.covered_weight - 1e-6
    plain = greedy(a, w, 6, locked=[0])
    assert "unknown" in gap_certificate(plain, None)


def test_progress_reports_each_step():
    a, w, _, _ = instance(2, n_d=150, n_c=25)
    seen: list[tuple[str, float | None]] = []
    certified_greedy(a, w, 5, progress=lambda text, frac: seen.append((text, frac)))
    texts = [t for t, _ in seen]
    assert texts[0] == "greedy" and "LP relaxation (bound)" in texts and texts[-1] == "exact MILP (HiGHS)"
    fracs = [f for _, f in seen if f is not None]
    assert fracs == sorted(fracs)


@pytest.fixture(scope="module")
def aachen_instance():
    from bench.bench_siting import RADIUS_M, make_instance

    demand, cand, w = make_instance()
    return coverage_matrix(demand, cand, RADIUS_M), w


@pytest.mark.parametrize("k", [30, 100])
def test_improved_greedy_within_one_percent_on_the_aachen_instance(aachen_instance, k):
    """Issue #15: the greedy alone was 0.708 % (K = 30) and 1.84 % (K = 100) below the optimum; improved, it stays
    within 1 %, certified by the exact MILP's bound."""
    a, w = aachen_instance
    g, exact = certified_greedy(a, w, k, time_limit=300)
    assert exact is not None and exact.status == "optimal"
    assert g.gap is not None and g.gap <= 0.01
    assert g.covered_weight == pytest.approx(covered_by(a, w, g.chosen))
    assert g.gap == pytest.approx((exact.bound - g.covered_weight) / exact.bound)
    assert "certified gap" in gap_certificate(g, exact)


def test_certified_greedy_with_nothing_to_cover_is_optimal_not_a_division_by_zero():
    """Demand of weight 0 (e.g. every resident already reached): the exact bound is 0 and the answer's gap is 0."""
    from scipy import sparse as sp

    from netzatlas.coverage.siting import certified_greedy

    a = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]], dtype=bool))
    g, exact = certified_greedy(a, np.zeros(3), 1)
    assert g.covered_weight == 0 and g.gap == 0.0
    assert exact is None or exact.covered_weight == 0
