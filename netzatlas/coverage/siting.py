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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from netzatlas.coverage.interchange import interchange, marginal_gains
from netzatlas.coverage.siting_model import covering_model, lp_relaxation, reduce_demand
from netzatlas.errors import InvalidParameter

Array = npt.NDArray[np.float64]
#: ``progress(description, fraction_done)``; fraction ``None`` keeps the last one
Progress = Callable[[str, float | None], None]


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
    """The exact MCLP (or its capacitated form) with HiGHS; ``bound`` and ``gap`` certify the answer.

    Uncapacitated, the model is built on the reduced demand (``siting_model.reduce_demand``: rows merged by their
    candidate set, rows the locked sites reach counted as a constant), which is what makes HiGHS as fast as CBC."""
    t0 = time.perf_counter()
    a = sparse.csc_matrix(a)
    w, lk = _validate(a, weights, k, locked, budget, costs)
    n_c, fixed = a.shape[1], 0.0
    if capacity is None:
        red = reduce_demand(a, w, lk)
        fixed = red.fixed
        c, cons, lb, ub = covering_model(red, k, lk, budget, costs)
    else:
        c, cons, lb, ub = _capacitated_model(a, w, k, lk, budget, costs, capacity)
    integrality = np.r_[np.ones(n_c), np.zeros(len(c) - n_c)]
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(lb, ub),
               options={"time_limit": time_limit, "disp": False, "mip_rel_gap": 1e-6})
    dual = getattr(res, "mip_dual_bound", None)
    if res.x is None:  # e.g. the time limit ran out before a first solution: say so, do not fail the caller
        return SitingResult([], lk, float("nan"), float(w.sum()), [], "milp (HiGHS)", time.perf_counter() - t0,
                            bound=None if dual is None else fixed - float(dual), gap=None,
                            status=f"no solution ({res.message})")
    x = res.x[:n_c] > 0.5
    chosen = [int(j) for j in np.nonzero(x)[0] if j not in set(lk)]
    objective = fixed - float(res.fun)
    bound = objective if dual is None else fixed - float(dual)
    gap = (bound - objective) / bound if bound > 0 else 0.0
    status = "optimal" if res.status == 0 else f"stopped ({res.message})"
    return SitingResult(chosen, lk, objective, float(w.sum()), [], "milp (HiGHS)", time.perf_counter() - t0,
                        bound=bound, gap=max(gap, 0.0), status=status)


def _capacitated_model(a: sparse.csc_matrix, w: Array, k: int | None, lk: list[int], budget: float | None,
                       costs: Array | None, capacity: float) -> tuple[Array, list[LinearConstraint], Array, Array]:
    """Variables: x (n_c), z (one per reachable pair, the share of demand i served by j)."""
    if capacity <= 0:
        raise InvalidParameter("the capacity must be positive")
    reach = np.asarray(a.sum(axis=1)).ravel() > 0
    rows = np.nonzero(reach & (w > 0))[0]  # demand nobody can reach stays uncovered: leave it out
    sub = a[rows].tocoo()
    n_c, n_d, npair = a.shape[1], len(rows), sub.nnz
    c = np.r_[np.zeros(n_c), -w[rows][sub.row]]
    pair = np.arange(npair)
    cons = [LinearConstraint(sparse.csr_matrix((np.ones(npair), (sub.row, n_c + pair)), shape=(n_d, n_c + npair)),
                             -np.inf, 1.0)]
    cap_rows = sparse.csr_matrix((np.r_[w[rows][sub.row], -capacity * np.ones(n_c)],
                                  (np.r_[sub.col, np.arange(n_c)], np.r_[n_c + pair, np.arange(n_c)])),
                                 shape=(n_c, n_c + npair))
    cons.append(LinearConstraint(cap_rows, -np.inf, 0.0))
    link = sparse.csr_matrix((np.r_[np.ones(npair), -np.ones(npair)], (np.r_[pair, pair], np.r_[n_c + pair,
                                                                                                 sub.col])),
                             shape=(npair, n_c + npair))
    cons.append(LinearConstraint(link, -np.inf, 0.0))
    nvar = n_c + npair
    if k is not None:
        cons.append(LinearConstraint(sparse.csr_matrix(np.r_[np.ones(n_c), np.zeros(npair)].reshape(1, -1)),
                                     -np.inf, k + len(lk)))
    if budget is not None:
        cost = np.asarray(costs, dtype=float).copy()
        cost[lk] = 0.0
        cons.append(LinearConstraint(sparse.csr_matrix(np.r_[cost, np.zeros(npair)].reshape(1, -1)), -np.inf,
                                     budget))
    lb = np.zeros(nvar)
    lb[lk] = 1.0
    return c, cons, lb, np.ones(nvar)


def improve(a: sparse.spmatrix, weights: Array, g: SitingResult, k: int, *, lp_guided: bool = True,
            progress: Progress | None = None) -> SitingResult:
    """The greedy answer improved by interchange (``interchange.py``) and, with ``lp_guided``, also the LP
    relaxation's K largest sites improved the same way; the better of the two, with the LP optimum as ``bound``
    and the gap to it (a certificate without the MILP). Uncapacitated K-site problems only."""
    t0 = time.perf_counter()
    a = sparse.csc_matrix(a)
    w = np.asarray(weights, dtype=float)
    red = reduce_demand(a, w, g.locked)

    def swap(start: list[int], label: str, done: float) -> list[int]:
        def tick(n: int, gained: float) -> None:
            if progress is not None:
                progress(f"{label}: {n} swap(s), +{gained:,.0f}", done)
        return interchange(red.a, red.w, start, locked=g.locked, progress=tick)[0]

    best = swap(list(g.chosen), "swaps from the greedy", 0.2)
    bound = None
    if lp_guided:
        if progress is not None:
            progress("LP relaxation (bound)", 0.3)
        bound, x = lp_relaxation(red, k, g.locked)
        if x is not None:
            free = np.ones(a.shape[1], dtype=bool)
            free[g.locked] = False
            order = np.argsort(-np.where(free, x, -1.0), kind="stable")[:k]
            alt = swap([int(j) for j in order if free[j] and x[j] > 1e-9], "swaps from the LP", 0.4)
            if covered_by(a, w, [*g.locked, *alt]) > covered_by(a, w, [*g.locked, *best]) + 1e-9:
                best = alt
    covered = covered_by(a, w, [*g.locked, *best])
    if covered < g.covered_weight:  # pragma: no cover - swaps never lose weight
        return g
    gap = None if bound is None or bound <= 0 else max(0.0, (bound - covered) / bound)
    return SitingResult(best, g.locked, covered, g.total_weight, marginal_gains(a, w, best, g.locked),
                        "greedy + interchange" + (" + LP rounding" if lp_guided else ""),
                        g.seconds + time.perf_counter() - t0, bound=bound, gap=gap)


def certified_greedy(a: sparse.spmatrix, weights: Array, k: int | None = None, *, locked: Sequence[int] = (),
                     budget: float | None = None, costs: Array | None = None, capacity: float | None = None,
                     certify: bool = True, time_limit: float = 60.0, improve_step: bool = True,
                     progress: Progress | None = None) -> tuple[SitingResult, SitingResult | None]:
    """The greedy answer — improved (``improve``) for K sites without budget or capacity — and, when ``certify``,
    the exact MILP whose bound gives its gap (``None`` when the MILP found no solution within the time limit: the
    answer keeps the LP bound's gap, or none). ``progress(description, fraction_done)`` between the steps."""
    if progress is not None:
        progress("greedy", 0.0)
    g = greedy(a, weights, k, locked=locked, budget=budget, costs=costs, capacity=capacity)
    if improve_step and k is not None and budget is None and capacity is None and g.chosen:
        g = improve(a, weights, g, k, progress=progress)
    if not certify:
        return g, None
    if progress is not None:
        progress("exact MILP (HiGHS)", 0.5)
    exact = solve_milp(a, weights, k, locked=locked, budget=budget, costs=costs, capacity=capacity,
                       time_limit=time_limit)
    if exact.bound is not None and exact.bound == exact.bound and (g.bound is None or exact.bound < g.bound):
        # the tighter one (a bound of 0: nothing left to cover, the answer is optimal)
        g.bound = exact.bound
        g.gap = max(0.0, (exact.bound - g.covered_weight) / exact.bound) if exact.bound > 0 else 0.0
    if not exact.chosen and exact.covered_weight != exact.covered_weight:
        return g, None
    return g, exact


def gap_certificate(r: SitingResult, exact: SitingResult | None) -> str:
    """One line saying how far the answer is from the optimum and what certifies it."""
    if r.gap is None or r.bound is None:
        return f"{r.solver}: {r.covered_weight:,.0f}; no bound computed, the distance to the optimum is unknown"
    if exact is not None and exact.status == "optimal" and abs(exact.covered_weight - r.bound) <= 1e-6 * r.bound:
        by = f"the exact optimum {exact.covered_weight:,.0f} (HiGHS MILP, optimal)"
    elif exact is not None and r.bound == exact.bound:
        by = f"the MILP bound {r.bound:,.0f} (HiGHS, {exact.status})"
    else:
        by = f"the LP relaxation bound {r.bound:,.0f}"
    return f"{r.solver}: {r.covered_weight:,.0f}, within {r.gap:.2%} of {by} (certified gap)"


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
