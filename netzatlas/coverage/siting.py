"""Maximal covering location (Church & ReVelle 1974): choose new sites so that as much demand weight as possible
lies within reach of a site; existing sites are locked in.

- ``coverage_matrix``: the sparse demand × candidate matrix (a KD-tree; a city-size instance fits in memory);
- ``greedy``: lazy greedy (CELF) — each candidate's gain only falls as sites are added, so stale upper bounds in a
  heap spare almost all re-evaluations; for K sites it guarantees ≥ (1 − 1/e) of the optimum; with a budget it
  picks by gain per cost and compares with the best single affordable site; with a capacity a site serves at most
  ``capacity`` demand weight (demand points may be served partly; a documented approximation);
- ``solve_milp``: the exact model with scipy's HiGHS (``scipy.optimize.milp``), certifying the greedy's gap;
- ``brute_force``: every K-subset, for tests on small instances.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from netzatlas.errors import InvalidParameter

Array = npt.NDArray[np.float64]


@dataclass
class SitingResult:
    """Chosen candidate indices (in pick order, locked sites excluded) and how much demand they cover."""

    chosen: list[int]
    locked: list[int]
    covered_weight: float
    total_weight: float
    gains: list[float] = field(default_factory=list)
    solver: str = "greedy"
    seconds: float = 0.0
    bound: float | None = None         # best upper bound on the objective (MILP)
    gap: float | None = None           # relative gap between covered_weight and the bound
    status: str = "ok"

    @property
    def share(self) -> float:
        return self.covered_weight / self.total_weight if self.total_weight else 0.0


def _check_xy(xy: Array, what: str) -> Array:
    a = np.asarray(xy, dtype=float)
    if a.ndim != 2 or a.shape[1] != 2:
        raise InvalidParameter(f"{what} must be an (n, 2) array of projected x/y coordinates")
    if not np.isfinite(a).all():
        raise InvalidParameter(f"{what} contain NaN or infinite coordinates")
    return a


def coverage_matrix(demand_xy: Array, candidate_xy: Array, radius: float | Array) -> sparse.csc_matrix:
    """Boolean sparse matrix A[i, j] = demand i lies within ``radius`` (metres; scalar or per candidate) of j."""
    d = _check_xy(demand_xy, "demand points")
    c = _check_xy(candidate_xy, "candidates")
    if len(c) == 0:
        raise InvalidParameter("there are no candidate sites")
    r = np.broadcast_to(np.asarray(radius, dtype=float), (len(c),))
    if not np.isfinite(r).all() or (r <= 0).any():
        raise InvalidParameter("the coverage radius must be positive")
    if len(d) == 0:
        return sparse.csc_matrix((0, len(c)), dtype=bool)
    m = cKDTree(d).sparse_distance_matrix(cKDTree(c), float(r.max()), output_type="coo_matrix")
    keep = m.data <= r[m.col]
    exact_zero = np.zeros(0, dtype=int)  # sparse_distance_matrix omits pairs at distance 0: add them back
    dd, ii = cKDTree(c).query(d, k=1)
    zero = np.nonzero(dd == 0)[0]
    rows = np.r_[m.row[keep], zero]
    cols = np.r_[m.col[keep], ii[zero] if len(zero) else exact_zero]
    a = sparse.coo_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(len(d), len(c))).tocsc()
    a.sum_duplicates()
    a.data[:] = True
    return a


def _validate(a: sparse.spmatrix, weights: Array, k: int | None, locked: Sequence[int], budget: float | None,
              costs: Array | None) -> tuple[Array, list[int]]:
    w = np.asarray(weights, dtype=float)
    if w.shape != (a.shape[0],):
        raise InvalidParameter(f"{len(w)} weights for {a.shape[0]} demand points")
    if np.isnan(w).any() or (w < 0).any():
        raise InvalidParameter("demand weights must be numbers >= 0 (found NaN or negative)")
    if a.shape[1] == 0:
        raise InvalidParameter("there are no candidate sites")
    if k is None and budget is None:
        raise InvalidParameter("give the number of new sites (k) or a budget")
    if k is not None and k < 0:
        raise InvalidParameter(f"the number of new sites must be >= 0, got {k}")
    if budget is not None:
        if budget < 0:
            raise InvalidParameter(f"the budget must be >= 0, got {budget}")
        if costs is None or np.asarray(costs).shape != (a.shape[1],) or (np.asarray(costs) < 0).any():
            raise InvalidParameter("a budget needs a non-negative cost per candidate")
    lk = [int(j) for j in locked]
    bad = [j for j in lk if j < 0 or j >= a.shape[1]]
    if bad:
        raise InvalidParameter(f"locked site index(es) {bad} out of range 0..{a.shape[1] - 1}")
    return w, lk


def greedy(a: sparse.spmatrix, weights: Array, k: int | None = None, *, locked: Sequence[int] = (),
           budget: float | None = None, costs: Array | None = None, capacity: float | None = None) -> SitingResult:
    """Lazy greedy (CELF). ``a``: demand × candidate (``coverage_matrix``)."""
    t0 = time.perf_counter()
    a = sparse.csc_matrix(a)
    w, lk = _validate(a, weights, k, locked, budget, costs)
    remaining = w.copy()  # demand weight not yet served
    cap = np.inf if capacity is None else float(capacity)
    if capacity is not None and capacity <= 0:
        raise InvalidParameter("the capacity must be positive")
    indptr, indices = a.indptr, a.indices

    def serve(j: int) -> float:
        rows = indices[indptr[j]:indptr[j + 1]]
        if cap == np.inf:
            got = remaining[rows].sum()
            remaining[rows] = 0.0
            return float(got)
        left, got = cap, 0.0
        for i in rows:  # capacity: serve the column's demand in order until the site is full
            take = min(remaining[i], left)
            remaining[i] -= take
            left -= take
            got += take
            if left <= 0:
                break
        return got

    def gain(j: int) -> float:
        rows = indices[indptr[j]:indptr[j + 1]]
        return float(min(remaining[rows].sum(), cap))

    for j in lk:
        serve(j)
    cost = np.zeros(a.shape[1]) if costs is None else np.asarray(costs, dtype=float)
    spent = 0.0
    max_new = k if k is not None else a.shape[1]
    heap = [(-gain(j) / (cost[j] if budget is not None and cost[j] > 0 else 1.0), j)
            for j in range(a.shape[1]) if j not in set(lk)]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    while heap and len(chosen) < max_new:
        neg, j = heapq.heappop(heap)
        if budget is not None and spent + cost[j] > budget:
            continue
        g = gain(j)
        score = g / (cost[j] if budget is not None and cost[j] > 0 else 1.0)
        if heap and score < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-score, j))  # stale bound: re-insert with the true value
            continue
        if g <= 0:
            break
        chosen.append(j)
        gains.append(serve(j))
        spent += cost[j]
    covered = float(w.sum() - remaining.sum())
    if budget is not None:  # the classic fix: the best single affordable site may beat gain-per-cost
        single = _best_single(a, w, lk, cost, budget, cap)
        if single is not None and single[1] > covered:
            return SitingResult([single[0]], lk, single[1], float(w.sum()), [single[1]], "greedy(budget:single)",
                                time.perf_counter() - t0)
    return SitingResult(chosen, lk, covered, float(w.sum()), gains, "greedy (lazy)", time.perf_counter() - t0)


def _best_single(a: sparse.csc_matrix, w: Array, locked: list[int], cost: Array, budget: float, cap: float
                 ) -> tuple[int, float] | None:
    base = np.zeros(a.shape[0], dtype=bool)
    if locked:
        base = np.asarray(a[:, locked].sum(axis=1)).ravel() > 0
    free = np.where(base, 0.0, w)
    vals = np.minimum(np.asarray(a.T @ free).ravel(), cap)
    ok = (cost <= budget)
    ok[locked] = False
    if not ok.any():
        return None
    j = int(np.argmax(np.where(ok, vals, -1)))
    return j, float(w[base].sum() + vals[j])


def solve_milp(a: sparse.spmatrix, weights: Array, k: int | None = None, *, locked: Sequence[int] = (),
               budget: float | None = None, costs: Array | None = None, capacity: float | None = None,
               time_limit: float = 60.0) -> SitingResult:
    """The exact MCLP (or its capacitated form) with HiGHS; ``bound`` and ``gap`` certify the answer."""
    t0 = time.perf_counter()
    a = sparse.csc_matrix(a)
    w, lk = _validate(a, weights, k, locked, budget, costs)
    reach = np.asarray(a.sum(axis=1)).ravel() > 0
    rows = np.nonzero(reach & (w > 0))[0]  # demand nobody can reach stays uncovered: leave it out
    sub = a[rows].tocoo()
    n_c, n_d = a.shape[1], len(rows)
    lb_x = np.zeros(n_c)
    lb_x[lk] = 1.0
    cons = []
    if capacity is None:
        # variables: x (n_c, binary), y (n_d, continuous 0..1); y_i <= sum_j a_ij x_j
        c = np.r_[np.zeros(n_c), -w[rows]]
        m = sparse.hstack([-sparse.csr_matrix((np.ones(sub.nnz), (sub.row, sub.col)), shape=(n_d, n_c)),
                           sparse.identity(n_d)]).tocsr()
        cons.append(LinearConstraint(m, -np.inf, 0.0))
        nvar, integrality = n_c + n_d, np.r_[np.ones(n_c), np.zeros(n_d)]
        lb, ub = np.r_[lb_x, np.zeros(n_d)], np.ones(nvar)
    else:
        if capacity <= 0:
            raise InvalidParameter("the capacity must be positive")
        # variables: x (n_c), z (one per pair, the share of demand i served by j)
        npair = sub.nnz
        c = np.r_[np.zeros(n_c), -w[rows][sub.row]]
        pair = np.arange(npair)
        demand_once = sparse.csr_matrix((np.ones(npair), (sub.row, n_c + pair)), shape=(n_d, n_c + npair))
        cons.append(LinearConstraint(demand_once, -np.inf, 1.0))
        cap_rows = sparse.csr_matrix((np.r_[w[rows][sub.row], -capacity * np.ones(n_c)],
                                      (np.r_[sub.col, np.arange(n_c)], np.r_[n_c + pair, np.arange(n_c)])),
                                     shape=(n_c, n_c + npair))
        cons.append(LinearConstraint(cap_rows, -np.inf, 0.0))
        link = sparse.csr_matrix((np.r_[np.ones(npair), -np.ones(npair)], (np.r_[pair, pair], np.r_[n_c + pair,
                                                                                                     sub.col])),
                                 shape=(npair, n_c + npair))
        cons.append(LinearConstraint(link, -np.inf, 0.0))
        nvar, integrality = n_c + npair, np.r_[np.ones(n_c), np.zeros(npair)]
        lb, ub = np.r_[lb_x, np.zeros(npair)], np.ones(nvar)
    count = sparse.csr_matrix(np.r_[np.ones(n_c), np.zeros(nvar - n_c)].reshape(1, -1))
    if k is not None:
        cons.append(LinearConstraint(count, -np.inf, k + len(lk)))
    if budget is not None:
        cost = np.asarray(costs, dtype=float).copy()
        cost[lk] = 0.0
        cons.append(LinearConstraint(sparse.csr_matrix(np.r_[cost, np.zeros(nvar - n_c)].reshape(1, -1)),
                                     -np.inf, budget))
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub),
               options={"time_limit": time_limit, "disp": False, "mip_rel_gap": 1e-6})
    if res.x is None:  # e.g. the time limit ran out before a first solution: say so, do not fail the caller
        bound = float(-res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else None
        return SitingResult([], lk, float("nan"), float(w.sum()), [], "milp (HiGHS)", time.perf_counter() - t0,
                            bound=bound, gap=None, status=f"no solution ({res.message})")
    x = res.x[:n_c] > 0.5
    chosen = [int(j) for j in np.nonzero(x)[0] if j not in set(lk)]
    objective = float(-res.fun)
    bound = float(-res.mip_dual_bound) if getattr(res, "mip_dual_bound", None) is not None else objective
    gap = (bound - objective) / bound if bound > 0 else 0.0
    status = "optimal" if res.status == 0 else f"stopped ({res.message})"
    return SitingResult(chosen, lk, objective, float(w.sum()), [], "milp (HiGHS)", time.perf_counter() - t0,
                        bound=bound, gap=max(gap, 0.0), status=status)


def certified_greedy(a: sparse.spmatrix, weights: Array, k: int | None = None, *, locked: Sequence[int] = (),
                     budget: float | None = None, costs: Array | None = None, capacity: float | None = None,
                     certify: bool = True, time_limit: float = 60.0) -> tuple[SitingResult, SitingResult | None]:
    """The greedy answer and, when ``certify``, the exact MILP whose bound gives the greedy's gap (``None`` when the
    MILP found no solution within the time limit: the greedy answer stands, its gap unknown)."""
    g = greedy(a, weights, k, locked=locked, budget=budget, costs=costs, capacity=capacity)
    if not certify:
        return g, None
    exact = solve_milp(a, weights, k, locked=locked, budget=budget, costs=costs, capacity=capacity,
                       time_limit=time_limit)
    if exact.bound and exact.bound == exact.bound:  # not NaN
        g.bound, g.gap = exact.bound, max(0.0, (exact.bound - g.covered_weight) / exact.bound)
    if not exact.chosen and exact.covered_weight != exact.covered_weight:
        return g, None
    return g, exact


def covered_by(a: sparse.spmatrix, weights: Array, sites: Sequence[int]) -> float:
    """Demand weight within reach of any of ``sites`` (uncapacitated)."""
    if not len(sites):
        return 0.0
    hit = np.asarray(sparse.csc_matrix(a)[:, list(sites)].sum(axis=1)).ravel() > 0
    return float(np.asarray(weights, dtype=float)[hit].sum())


def brute_force(a: sparse.spmatrix, weights: Array, k: int, *, locked: Sequence[int] = ()) -> SitingResult:
    """The optimum by trying every K-subset (small instances only)."""
    t0 = time.perf_counter()
    w, lk = _validate(sparse.csc_matrix(a), weights, k, locked, None, None)
    free = [j for j in range(a.shape[1]) if j not in set(lk)]
    best, best_set = -1.0, ()
    for combo in itertools.combinations(free, min(k, len(free))):
        v = covered_by(a, w, [*lk, *combo])
        if v > best:
            best, best_set = v, combo
    return SitingResult(list(best_set), lk, best, float(w.sum()), [], "brute force", time.perf_counter() - t0)
