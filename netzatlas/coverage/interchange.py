"""Interchange (swap) improvement for the maximal covering location problem (Teitz & Bart 1968; the fast form of
Whitaker 1983): repeatedly exchange one chosen site for one unchosen candidate where that covers the most
additional demand weight, until no exchange improves the covered weight.

For every chosen site ``j`` and candidate ``c`` the change of a swap is computed at once, with two sparse products
per round: ``A^T (w * uncovered)`` (what ``c`` adds on its own) plus ``A^T (w * covered-only-by-j)`` (what ``c``
takes back of ``j``'s sole coverage) minus ``j``'s sole coverage. Uncapacitated, cardinality-constrained
problems only; pure functions (arrays in, arrays out).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import sparse

Array = npt.NDArray[np.float64]
#: the largest candidates × chosen-sites table of swap gains (float64: 8 bytes a cell, 800 MB here); beyond it the
#: interchange is left out and the greedy sites stand (their distance to the bound is still reported)
MAX_SWAP_CELLS = 100_000_000


def cover_count(a: sparse.csc_matrix, sites: Sequence[int]) -> npt.NDArray[np.int64]:
    """Per demand point, how many of ``sites`` reach it."""
    if not len(sites):
        return np.zeros(a.shape[0], dtype=np.int64)
    return np.asarray(a[:, list(sites)].astype(np.int64).sum(axis=1)).ravel()


def swap_deltas(a: sparse.csc_matrix, at: sparse.csr_matrix, w: Array, count: npt.NDArray[np.int64],
                chosen: Sequence[int]) -> npt.NDArray[np.float64]:
    """``delta[c, i]``: the covered weight gained (negative: lost) by replacing ``chosen[i]`` with candidate ``c``."""
    uncovered = np.where(count == 0, w, 0.0)
    base = at @ uncovered
    sole = np.where(count == 1, w, 0.0)
    cols = a[:, list(chosen)].tocsc().astype(np.float64)
    sole_w = sparse.diags(sole) @ cols  # n_d × K: weight only chosen[i] covers
    loss = np.asarray(sole_w.sum(axis=0)).ravel()
    back = (at @ sole_w).toarray() if sole_w.nnz else np.zeros((a.shape[1], len(chosen)))
    return base[:, None] + back - loss[None, :]


def interchange(a: sparse.spmatrix, weights: Array, chosen: Sequence[int], *, locked: Sequence[int] = (),
                max_swaps: int = 1000, tol: float = 1e-9,
                progress: Callable[[int, float], None] | None = None) -> tuple[list[int], int]:
    """Best-improvement swaps from ``chosen`` (locked sites stay); returns the improved sites (each swapped-in site
    takes the place of the one it replaces) and the number of swaps. ``progress(swaps, gained_weight)`` after
    each swap."""
    if a.shape[1] * max(len(chosen), 1) > MAX_SWAP_CELLS:  # a dense candidates × chosen table would not fit
        return [int(j) for j in chosen], 0
    a = sparse.csc_matrix(a)
    at = a.T.tocsr().astype(np.float64)
    w = np.asarray(weights, dtype=float)
    sites = [int(j) for j in chosen]
    lk = [int(j) for j in locked]
    if not sites:
        return sites, 0
    count = cover_count(a, [*lk, *sites])
    scale = max(float(w.sum()), 1.0)
    swaps, gained = 0, 0.0
    while swaps < max_swaps:
        delta = swap_deltas(a, at, w, count, sites)
        delta[[*sites, *lk], :] = -np.inf  # a site already open cannot come in
        c, i = np.unravel_index(int(np.argmax(delta)), delta.shape)
        best = float(delta[c, i])
        if best <= tol * scale:
            break
        out = sites[i]
        count[a.indices[a.indptr[out]:a.indptr[out + 1]]] -= 1
        count[a.indices[a.indptr[c]:a.indptr[c + 1]]] += 1
        sites[i] = int(c)
        swaps += 1
        gained += best
        if progress is not None:
            progress(swaps, gained)
    return sites, swaps


def marginal_gains(a: sparse.spmatrix, weights: Array, sites: Sequence[int], locked: Sequence[int] = ()
                   ) -> list[float]:
    """The demand weight each site adds, in order, given the locked sites and the sites before it."""
    a = sparse.csc_matrix(a)
    left = np.asarray(weights, dtype=float).copy()
    left[cover_count(a, [int(j) for j in locked]) > 0] = 0.0
    out = []
    for j in sites:
        rows = a.indices[a.indptr[j]:a.indptr[j + 1]]
        out.append(float(left[rows].sum()))
        left[rows] = 0.0
    return out
