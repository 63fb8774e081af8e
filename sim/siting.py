"""Siting stations on a road graph: fire stations by coverage, others by k-means.

Used by the generated cities (:mod:`sim.district`) and by the loaders of real
networks (:mod:`sim.loaders.around`). Both work at metropolis scale: the
reach of each candidate site is a sparse matrix built from distance-limited
Dijkstra searches in chunks (a dense candidates x nodes table of a
100,000-node city would not fit in memory), and k-means assigns points to
centres with a k-d tree once the dense distance table grows large.
"""

from __future__ import annotations

import heapq

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from sim.city import Roads
from sim.config import CityConfig

__all__ = ["fire_coverage", "kmeans_sites", "reach_matrix", "site_fire_stations", "travel_graph"]

#: Above this many point-centre pairs k-means uses a k-d tree instead of a dense table.
_DENSE_PAIRS = 2_000_000


def travel_graph(roads: Roads) -> csr_matrix:
    """Free-flow travel times (s) as a CSR matrix; of parallel arcs the fastest is kept."""
    w = roads.travel_time_s()
    two = ~roads.oneway.astype(bool)
    src = np.concatenate([roads.u, roads.v[two]]).astype(np.int64)
    dst = np.concatenate([roads.v, roads.u[two]]).astype(np.int64)
    ww = np.concatenate([w, w[two]])
    order = np.lexsort((ww, dst, src))
    src, dst, ww = src[order], dst[order], ww[order]
    first = np.r_[True, (src[1:] != src[:-1]) | (dst[1:] != dst[:-1])]
    return csr_matrix((ww[first], (src[first], dst[first])), shape=(roads.n_nodes, roads.n_nodes))


def reach_matrix(graph: csr_matrix, sources: np.ndarray, limit: float, chunk: int = 64,
                 xy: tuple[np.ndarray, np.ndarray] | None = None,
                 max_speed_kmh: float | None = None) -> csr_matrix:
    """Boolean (sources x nodes) matrix: node reached from the source within ``limit`` s.

    With node coordinates ``xy`` (m) and the fastest link speed, each search
    runs on the part of the graph within ``limit * max_speed`` of its
    sources (no node farther away, nor any path through one, can be reached
    in time, so the answer is the same), grouped by square tiles: the cost
    grows with the city's area, not with its square.
    """
    n = graph.shape[0]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    sources = np.asarray(sources, dtype=np.int64)
    if xy is None or max_speed_kmh is None:
        for i in range(0, len(sources), chunk):
            d = np.atleast_2d(dijkstra(graph, indices=sources[i:i + chunk], limit=limit))
            r, c = np.nonzero(np.isfinite(d))
            rows.append(r + i)
            cols.append(c)
    else:
        x, y = xy
        radius = limit * max_speed_kmh / 3.6 + 1.0
        tile = 2.0 * radius
        key = np.floor(x[sources] / tile).astype(np.int64) * 1_000_003 + np.floor(y[sources] / tile).astype(np.int64)
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.diff(key[order])) + 1
        for group in np.split(order, bounds):
            for i in range(0, len(group), chunk):
                pos = group[i:i + chunk]
                src = sources[pos]
                sx, sy = x[src], y[src]
                inside = np.flatnonzero((x >= sx.min() - radius) & (x <= sx.max() + radius)
                                        & (y >= sy.min() - radius) & (y <= sy.max() + radius))
                sub = graph[inside][:, inside]
                d = np.atleast_2d(dijkstra(sub, indices=np.searchsorted(inside, src), limit=limit))
                r, c = np.nonzero(np.isfinite(d))
                rows.append(pos[r])
                cols.append(inside[c])
    r_all = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c_all = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    return csr_matrix((np.ones(len(r_all), bool), (r_all, c_all)), shape=(len(sources), n))


def fire_coverage(roads: Roads, station_nodes: list[int], travel_limit_s: float) -> float:
    """Share of road nodes some station reaches within ``travel_limit_s`` of free-flow travel."""
    if not station_nodes:
        return 0.0
    reach = reach_matrix(travel_graph(roads), np.asarray(station_nodes, dtype=np.int64), travel_limit_s)
    covered = np.zeros(roads.n_nodes, bool)
    covered[reach.indices] = True
    return float(covered.mean())


def site_fire_stations(graph, candidates: np.ndarray, cfg: CityConfig,  # noqa: ANN001
                       exclude: np.ndarray, xy: tuple[np.ndarray, np.ndarray] | None = None,
                       max_speed_kmh: float | None = None) -> tuple[list[int], float]:
    """Greedy maximum coverage (GB 51080-2015 §4.1.3): returns station nodes and the share covered.

    Every ``len(candidates) // fire.n_candidates``-th candidate is tried; each
    step adds the site covering most nodes not yet covered, until
    ``fire.coverage_target`` of the nodes (less ``exclude``) is covered or
    ``fire.max_stations`` are sited. ``xy`` and ``max_speed_kmh`` (the
    fastest link) let the reach searches run on local parts of the graph.
    """
    limit = max(cfg.fire.coverage_s - cfg.fire.turnout_s, 1.0)
    step = max(len(candidates) // cfg.fire.n_candidates, 1)
    cand = candidates[::step]
    reach = reach_matrix(graph, cand, limit, xy=xy, max_speed_kmh=max_speed_kmh)
    target = ~exclude
    covered = np.zeros(graph.shape[0], bool)
    chosen: list[int] = []
    n_target = int(target.sum())
    n_covered = 0
    # Lazy greedy: a site's gain only falls as others are chosen, so a stale gain is an upper
    # bound and only the top of the heap is re-counted. The pick is the plain greedy's (the
    # largest gain, the lowest index on ties), without a pass over every site per step.
    gain0 = reach.astype(np.float64) @ target.astype(np.float64)
    heap = [(-int(g), i) for i, g in enumerate(gain0.tolist()) if g > 0]
    heapq.heapify(heap)
    while len(chosen) < cfg.fire.max_stations and heap:
        _, best = heapq.heappop(heap)
        cols = reach.indices[reach.indptr[best]:reach.indptr[best + 1]]
        new = cols[target[cols] & ~covered[cols]]
        if heap and (-len(new), best) > heap[0]:
            heapq.heappush(heap, (-len(new), best))
            continue
        if len(new) == 0:
            break
        chosen.append(int(cand[best]))
        covered[new] = True
        n_covered += len(new)
        if n_covered / max(n_target, 1) >= cfg.fire.coverage_target:
            break
    return chosen, float(covered[target].mean())


def _nearest_centre(px: np.ndarray, py: np.ndarray, centres: np.ndarray) -> np.ndarray:
    if len(px) * len(centres) <= _DENSE_PAIRS:
        return np.argmin((px[:, None] - centres[None, :, 0]) ** 2 + (py[:, None] - centres[None, :, 1]) ** 2,
                         axis=1)
    return cKDTree(centres).query(np.column_stack([px, py]))[1]


def kmeans_sites(x: np.ndarray, y: np.ndarray, weight: np.ndarray, candidates: np.ndarray, k: int,
                  rng: np.random.Generator) -> list[int]:
    """Population-weighted k-means, each centre snapped to the nearest candidate node."""
    pts = np.nonzero(weight > 0)[0]
    w = weight[pts].astype(float)
    centres = np.column_stack([x[rng.choice(pts, size=k, replace=False, p=w / w.sum())],
                               y[rng.choice(pts, size=k, replace=False, p=w / w.sum())]])
    px, py = x[pts], y[pts]
    wx, wy = w * px, w * py
    for _ in range(15):
        lab = _nearest_centre(px, py, centres)
        # Weighted means of every cluster at once: O(points), not O(points x centres).
        mass = np.bincount(lab, weights=w, minlength=k)
        has = np.bincount(lab, minlength=k) > 0
        centres[has, 0] = np.bincount(lab, weights=wx, minlength=k)[has] / mass[has]
        centres[has, 1] = np.bincount(lab, weights=wy, minlength=k)[has] / mass[has]
    out: list[int] = []
    taken: set[int] = set()
    cx_all, cy_all = x[candidates], y[candidates]
    for cx, cy in centres:
        order = np.argsort((cx_all - cx) ** 2 + (cy_all - cy) ** 2)
        for o in order:
            if int(candidates[o]) not in taken:
                out.append(int(candidates[o]))
                taken.add(int(candidates[o]))
                break
    return out
