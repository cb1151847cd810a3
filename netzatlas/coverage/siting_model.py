"""The uncapacitated covering model, made small before a solver sees it, and its LP relaxation.

``reduce_demand`` keeps only the demand rows the choice can change — reachable by a candidate, positive weight,
not already within reach of a locked site (that weight is a constant) — and merges rows reached by exactly the same
candidates into one row with the summed weight (an exact reduction: a row's coverage depends only on its candidate
set). On the Aachen benchmark instance 20,000 demand rows become 5,821. ``lp_relaxation`` solves the model with
continuous site variables: its optimum is an upper bound on any choice of K sites (the gap certificate without the
MILP) and its site values guide a rounding that the interchange step (``interchange.py``) then improves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

Array = npt.NDArray[np.float64]


@dataclass
class Reduced:
    """Demand rows grouped by their candidate set: ``a`` (groups × candidates, CSC), ``w`` per group, and ``fixed``,
    the weight the locked sites already reach."""

    a: sparse.csc_matrix
    w: Array
    fixed: float


def reduce_demand(a: sparse.spmatrix, weights: Array, locked: Sequence[int] = ()) -> Reduced:
    """See the module docstring; exact (merged rows are checked to have identical candidate sets)."""
    csr = sparse.csr_matrix(a, dtype=bool)
    csr.sort_indices()
    w = np.asarray(weights, dtype=float)
    lk = [int(j) for j in locked]
    by_locked = (np.asarray(csr[:, lk].sum(axis=1)).ravel() > 0) if lk else np.zeros(csr.shape[0], dtype=bool)
    nnz = np.diff(csr.indptr)
    keep = np.nonzero((nnz > 0) & (w > 0) & ~by_locked)[0]
    fixed = float(w[by_locked].sum())
    sub = csr[keep]
    if not len(keep):
        return Reduced(sparse.csc_matrix((0, csr.shape[1]), dtype=bool), np.zeros(0), fixed)
    # a row's candidate set, fingerprinted by two random projections and its length; rows sharing a fingerprint
    # are merged after checking that their sets are really equal
    rng = np.random.default_rng(0)
    proj = sub.astype(np.float64) @ rng.random((csr.shape[1], 2))
    key = np.c_[proj, np.diff(sub.indptr)]
    _, first, group = np.unique(key, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    rep = sub[first[group]]
    if (rep != sub).nnz:  # pragma: no cover - a fingerprint collision (probability ~1e-30): do not merge
        first, group = np.arange(len(keep)), np.arange(len(keep))
    wg = np.bincount(group, weights=w[keep], minlength=len(first))
    return Reduced(sparse.csc_matrix(sub[first]), wg, fixed)


def covering_model(r: Reduced, k: int | None, locked: Sequence[int], budget: float | None = None,
                   costs: Array | None = None) -> tuple[Array, list[LinearConstraint], Array, Array]:
    """Objective, constraints and bounds of the reduced model: x (sites) then y (groups); ``y_g <= sum_j a_gj x_j``,
    at most ``k`` new sites (locked ones fixed open), within ``budget``."""
    n_g, n_c = r.a.shape
    coo = r.a.tocoo()
    c = np.r_[np.zeros(n_c), -r.w]
    link = sparse.hstack([-sparse.csr_matrix((np.ones(coo.nnz), (coo.row, coo.col)), shape=(n_g, n_c)),
                          sparse.identity(n_g)]).tocsr()
    cons = [LinearConstraint(link, -np.inf, 0.0)]
    lk = [int(j) for j in locked]
    nvar = n_c + n_g
    if k is not None:
        cons.append(LinearConstraint(sparse.csr_matrix(np.r_[np.ones(n_c), np.zeros(n_g)].reshape(1, -1)),
                                     -np.inf, k + len(lk)))
    if budget is not None:
        cost = np.asarray(costs, dtype=float).copy()
        cost[lk] = 0.0
        cons.append(LinearConstraint(sparse.csr_matrix(np.r_[cost, np.zeros(n_g)].reshape(1, -1)), -np.inf, budget))
    lb = np.zeros(nvar)
    lb[lk] = 1.0
    return c, cons, lb, np.ones(nvar)


def lp_relaxation(r: Reduced, k: int, locked: Sequence[int] = (), time_limit: float = 60.0
                  ) -> tuple[float | None, Array | None]:
    """(upper bound on the covered weight, site values) of the LP relaxation; (None, None) if HiGHS stopped
    without an optimal LP."""
    n_c = r.a.shape[1]
    if r.a.shape[0] == 0:
        return r.fixed, np.zeros(n_c)
    c, cons, lb, ub = covering_model(r, k, locked)
    res = milp(c, constraints=cons, integrality=np.zeros(len(c)), bounds=Bounds(lb, ub),
               options={"time_limit": time_limit, "disp": False})
    if res.status != 0 or res.x is None:
        return None, None
    return r.fixed - float(res.fun), res.x[:n_c]
