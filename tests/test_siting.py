"""The siting solver: exact MILP = brute force on small instances, greedy ≥ (1 − 1/e)·optimum, locked sites,
budget, capacity, and clear errors for bad parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import sparse

from netzatlas.coverage.siting import brute_force, coverage_matrix, covered_by, greedy, solve_milp
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
