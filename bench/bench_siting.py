"""Siting benchmark, side by side with PySAL spopt's MCLP (its default PuLP/CBC solver) on the same instance drawn
from the Aachen demo: ~2,000 candidate sites (street lamps and building centroids), 20,000 demand points
(building centroids weighted by height as a proxy for people), K = 30, 150 m radius.
Run: .venv/bin/python bench/bench_siting.py   (SPOPT_TIME_LIMIT=seconds caps CBC; default 900)
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from netzatlas.coverage.siting import coverage_matrix, covered_by, greedy, solve_milp  # noqa: E402
from netzatlas.registry.importers.osm import read_osm  # noqa: E402

K, RADIUS_M, N_CAND, N_DEMAND, SEED = 30, 150.0, 2000, 20_000, 42


def make_instance() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = read_osm(ROOT / "data/aachen/osm/aachen-2021-08-01.osm.pbf", layers=["streetlight", "building"])
    rng = np.random.default_rng(SEED)
    lamps = f["streetlight"].to_crs(25832).geometry
    b = f["building"].to_crs(25832)
    cent = b.geometry.representative_point()
    cand_b = rng.choice(len(cent), N_CAND - len(lamps), replace=False)
    cand = np.r_[np.c_[lamps.x, lamps.y], np.c_[cent.x.values[cand_b], cent.y.values[cand_b]]]
    dem = rng.choice(len(cent), N_DEMAND, replace=False)
    demand = np.c_[cent.x.values[dem], cent.y.values[dem]]
    weights = np.round(b["height_m"].to_numpy()[dem] / 3.0).clip(1, None)  # storeys ≈ people, a proxy
    return demand, cand, weights


def run_spopt(demand: np.ndarray, cand: np.ndarray, w: np.ndarray, limit: int) -> tuple[float, float, list[int], str]:
    import pulp
    from scipy.spatial.distance import cdist
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    cost = cdist(demand, cand)  # spopt's own input: the dense demand × candidate distance matrix
    model = MCLP.from_cost_matrix(cost, w, service_radius=RADIUS_M, p_facilities=K, name="mclp-bench")
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit)
    model = model.solve(solver)
    t = time.perf_counter() - t0
    chosen = [j for j, v in enumerate(model.fac_vars) if v.value() and v.value() > 0.5]
    status = pulp.LpStatus[model.problem.status]
    return t, float(pulp.value(model.problem.objective)), chosen, status


def main() -> None:
    demand, cand, w = make_instance()
    print(f"instance: {len(cand):,} candidates, {len(demand):,} demand points (total weight {w.sum():,.0f}), "
          f"K = {K}, radius {RADIUS_M:g} m\n", flush=True)
    t0 = time.perf_counter()
    a = coverage_matrix(demand, cand, RADIUS_M)
    g = greedy(a, w, K)
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    a2 = coverage_matrix(demand, cand, RADIUS_M)
    m = solve_milp(a2, w, K, time_limit=60)
    t_milp = time.perf_counter() - t0
    limit = int(os.environ.get("SPOPT_TIME_LIMIT", "900"))
    t_sp, obj_sp, chosen_sp, status_sp = run_spopt(demand, cand, w, limit)
    obj_sp_check = covered_by(a, w, chosen_sp)
    print(f"{'':34}{'seconds':>10}{'objective':>12}{'vs optimum':>12}")
    for name, t, obj in (("spopt MCLP (PuLP/CBC)", t_sp, obj_sp_check), ("netzatlas greedy (sparse, lazy)", t_greedy,
                                                                          g.covered_weight),
                         ("netzatlas exact MILP (HiGHS)", t_milp, m.covered_weight)):
        print(f"{name:34}{t:>10.3f}{obj:>12,.0f}{obj / m.bound:>12.2%}")
    print(f"\nspeed: greedy is {t_sp / t_greedy:,.0f}x faster than spopt end to end; the MILP {t_sp / t_milp:,.1f}x")
    print(f"MILP status: {m.status}; bound {m.bound:,.0f}; the greedy's gap to the bound: "
          f"{(m.bound - g.covered_weight) / m.bound:.3%} (certified)")
    print(f"spopt status: {status_sp} (time limit {limit} s); nonzeros in the sparse matrix: {a.nnz:,} "
          f"(dense: {a.shape[0] * a.shape[1]:,})")
    print("goals: greedy >= 1,000x faster than spopt and within 1 % of the optimum; MILP < 60 s and certifies the gap")


if __name__ == "__main__":
    main()
