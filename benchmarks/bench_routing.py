"""Routing after a road closure on the metro road graph: scipy csgraph on CSR against networkx.

    python benchmarks/bench_routing.py [--stations 20] [--closures 3]

For each closure (a random link near a station is closed), both sides
answer the same questions from the same stations on the same graph:

* full table: travel time from every node to each station
  (``RoadState.times_to``, reverse-graph Dijkstra on CSR; the closure
  itself, a weight update in place, is counted) against networkx
  ``single_source_dijkstra_path_length`` on the reversed DiGraph;
* limited: every node within 10 min of each station (``times_within``)
  against networkx with ``cutoff``;
* nearest station from every node at once (csgraph ``min_only``
  multi-source) against networkx ``multi_source_dijkstra_path_length``;
* point to point, as dispatch asks it (``RoadState.time``: a limited
  search widened until it reaches the origin) against networkx
  ``bidirectional_dijkstra``.

Answers are checked equal (to 1e-6 s) before any ratio is printed.
Prints ratios measured in one process; absolute times are for orientation.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from sim.city import Roads
from sim.district import build_district
from sim.roads import RoadState

try:
    from benchmarks._metro import metro_city_config
except ImportError:  # run as a script from benchmarks/
    from _metro import metro_city_config  # type: ignore[no-redef]


def nx_reverse_graph(roads: Roads, factor: np.ndarray) -> nx.DiGraph:
    """The reversed road graph (fastest of parallel arcs), as RoadState sees it."""
    g = nx.DiGraph()
    g.add_nodes_from(range(roads.n_nodes))
    w = roads.travel_time_s() * factor
    u, v, one = roads.u.tolist(), roads.v.tolist(), roads.oneway.tolist()
    for i, wi in enumerate(w.tolist()):
        if not np.isfinite(wi):
            continue
        wi = max(wi, 1e-6)
        for a, b in ((u[i], v[i]),) if one[i] else ((u[i], v[i]), (v[i], u[i])):
            if not g.has_edge(b, a) or g[b][a]["weight"] > wi:
                g.add_edge(b, a, weight=wi)  # reversed
    return g


def clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def one_closure(roads: Roads, rs: RoadState, stations: list[int], rng: np.random.Generator,
                n_pairs: int) -> dict[str, tuple[float, float]]:
    """Close a link next to a station, then time both sides on each question: (csgraph_s, networkx_s)."""
    out: dict[str, tuple[float, float]] = {}
    st = stations[int(rng.integers(len(stations)))]
    near = np.nonzero((roads.u == st) | (roads.v == st))[0]
    link = int(rng.choice(near))
    t_close, _ = clock(lambda: rs.close(link))
    t_build, g = clock(lambda: nx_reverse_graph(roads, rs.factor))
    # Full tables from each station, after the closure.
    ours, tables = clock(lambda: [rs.times_to(s).copy() for s in stations])
    ours += t_close
    theirs, ref = clock(lambda: [nx.single_source_dijkstra_path_length(g, s, weight="weight") for s in stations])
    for tab, r in zip(tables, ref, strict=True):
        keys = np.fromiter(r.keys(), dtype=np.int64)
        assert np.allclose(tab[keys], np.fromiter(r.values(), dtype=float), rtol=0, atol=1e-6)
        assert np.isinf(np.delete(tab, keys)).all()
    out["full"] = (ours, theirs)
    # Limited to 10 min, from a fresh road state (nothing cached).
    rs.clear_cache()
    ours, lim = clock(lambda: [rs.times_within(s, 600.0).copy() for s in stations])
    theirs, ref = clock(lambda: [nx.single_source_dijkstra_path_length(g, s, cutoff=600.0, weight="weight")
                                 for s in stations])
    for tab, r in zip(lim, ref, strict=True):
        assert int(np.isfinite(tab).sum()) == len(r)
    out["limited"] = (ours, theirs)
    # Nearest station from every node, all stations at once.
    rev = rs._reverse_graph()
    ours, near_t = clock(lambda: dijkstra(rev, indices=stations, min_only=True))
    theirs, ref_near = clock(lambda: nx.multi_source_dijkstra_path_length(g, set(stations), weight="weight"))
    keys = np.fromiter(ref_near.keys(), dtype=np.int64)
    assert np.allclose(near_t[keys], np.fromiter(ref_near.values(), dtype=float), rtol=0, atol=1e-6)
    out["nearest"] = (ours, theirs)
    # Point to point, as dispatch asks: origin anywhere, target a station.
    rs.clear_cache()
    pairs = [(int(rng.integers(roads.n_nodes)), stations[int(rng.integers(len(stations)))])
             for _ in range(n_pairs)]
    ours, p2p = clock(lambda: [rs.time(o, t) for o, t in pairs])
    gf = g.reverse(copy=False)  # the forward graph: origin -> station

    def nx_p2p() -> list[float]:
        res = []
        for o, t in pairs:
            try:
                res.append(nx.bidirectional_dijkstra(gf, o, t, weight="weight")[0])
            except nx.NetworkXNoPath:
                res.append(float("inf"))
        return res

    theirs, ref_p2p = clock(nx_p2p)
    assert np.allclose(p2p, ref_p2p, rtol=0, atol=1e-6)
    out["p2p"] = (ours, theirs)
    print(f"  closure next to node {st}: networkx graph rebuilt in {t_build:.2f} s (not counted)", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--closures", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=50)
    ap.add_argument("--scale", type=float, default=1.0, help="metro area multiplier")
    args = ap.parse_args()

    t0 = time.perf_counter()
    city = build_district(metro_city_config(args.scale), np.random.default_rng(0))
    roads = city.roads
    print(f"metro road graph: {roads.n_nodes:,} nodes, {roads.n_links:,} links "
          f"(built in {time.perf_counter() - t0:.1f} s)")
    rng = np.random.default_rng(1)
    fire = [s.node for s in city.stations if s.kind == "fire"]
    stations = [int(s) for s in rng.choice(fire, size=min(args.stations, len(fire)), replace=False)]
    rs = RoadState(roads)
    sums = {"full": [0.0, 0.0], "limited": [0.0, 0.0], "nearest": [0.0, 0.0], "p2p": [0.0, 0.0]}
    for _ in range(args.closures):
        for key, (ours, theirs) in one_closure(roads, rs, stations, rng, args.pairs).items():
            sums[key][0] += ours
            sums[key][1] += theirs
    k = args.closures
    print(f"\n{len(stations)} stations, {k} closures, {args.pairs} point-to-point questions per closure")
    print("question                                   csgraph_s  networkx_s  networkx/csgraph")
    labels = {
        "full": "full table from each station",
        "limited": "within 10 min of each station",
        "nearest": "nearest station, every node (min_only)",
        "p2p": "point to point (limited, widened)",
    }
    for key, (ours, theirs) in sums.items():
        print(f"{labels[key]:42s} {ours / k:9.3f} {theirs / k:11.3f} {theirs / ours:14.1f}x")


if __name__ == "__main__":
    main()
