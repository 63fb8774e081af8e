"""Engine and routing cost as ratios against baselines run in the same process.

    python benchmarks/bench_engine.py [--sizes 4 8 12] [--repeat 3]

* Engine: wall time per SimPy event of a full run (default district, one
  simulated day) against bare SimPy processes that only yield timeouts: the
  ratio is the cost of the model per event it schedules.
* Routing: one ``RoadState.times_to`` (scipy csgraph on CSR arrays) against
  networkx ``single_source_dijkstra_path_length`` on the same graph.
* Growth: build and run time as the district grows (side length in km), to
  check how cost scales with city size.

Prints ratios, not absolute times: these machines are noisy.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
import numpy as np
import simpy

from sim import engine
from sim.config import Config
from sim.roads import RoadState
from sim.runner import prepare


def bare_simpy(n_events: int) -> float:
    env = simpy.Environment()
    per_proc = 50

    def proc(env: simpy.Environment):
        for _ in range(per_proc):
            yield env.timeout(1.0)

    for _ in range(max(n_events // per_proc, 1)):
        env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return (time.perf_counter() - t0) / n_events


def count_events(prep) -> tuple[float, int]:
    env_events = 0
    orig = simpy.Environment.step

    def counting(self):  # noqa: ANN001
        nonlocal env_events
        env_events += 1
        return orig(self)

    simpy.Environment.step = counting
    try:
        t0 = time.perf_counter()
        engine.run(prep.city, prep.hazards, prep.calls, prep.policy, prep.cfg.run.horizon_s, prep.streams)
        wall = time.perf_counter() - t0
    finally:
        simpy.Environment.step = orig
    return wall, env_events


def routing(prep, repeat: int) -> tuple[float, float]:
    roads = prep.city.roads
    g = nx.DiGraph()
    w = roads.travel_time_s()
    for i in range(roads.n_links):
        g.add_edge(int(roads.v[i]), int(roads.u[i]), weight=float(w[i]))
        if not roads.oneway[i]:
            g.add_edge(int(roads.u[i]), int(roads.v[i]), weight=float(w[i]))
    rs = RoadState(roads)
    targets = np.random.default_rng(0).integers(0, roads.n_nodes, size=repeat)
    t0 = time.perf_counter()
    for t in targets:
        rs._changed()  # no cache: a fresh road state each time
        rs.times_to(int(t))
    ours = (time.perf_counter() - t0) / repeat
    t0 = time.perf_counter()
    for t in targets:
        nx.single_source_dijkstra_path_length(g, int(t), weight="weight")
    theirs = (time.perf_counter() - t0) / repeat
    return ours, theirs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=float, nargs="*", default=[4.0, 8.0, 12.0, 16.0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    cfg = Config()
    cfg.scenario.name = "pipe_burst"
    prep = prepare(cfg)
    wall, n_ev = count_events(prep)
    per_event = wall / n_ev
    base = bare_simpy(max(n_ev, 10_000))
    print(f"default run: {n_ev} SimPy events, {len(prep.calls)} calls, {wall:.3f} s wall")
    print(f"engine cost per SimPy event / bare SimPy timeout: {per_event / base:.1f}x")
    ours, theirs = routing(prep, args.repeat)
    print(f"routing, one all-nodes shortest-time table: networkx / csgraph = {theirs / ours:.1f}x")

    print("\nside_km  nodes  links  build_s  run_s  run_s/node_ratio")
    ref = None
    for side in args.sizes:
        c = Config()
        c.scenario.name = "pipe_burst"
        c.city.width_km = c.city.height_km = side
        c.city.population = int(750_000 * side * side / 56.0)
        t0 = time.perf_counter()
        p = prepare(c)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine.run(p.city, p.hazards, p.calls, p.policy, c.run.horizon_s, p.streams)
        run = time.perf_counter() - t0
        per_node = run / p.city.roads.n_nodes
        ref = ref or per_node
        print(f"{side:7.1f} {p.city.roads.n_nodes:6d} {p.city.roads.n_links:6d} {build:8.2f} {run:6.2f} "
              f"{per_node / ref:8.2f}")


if __name__ == "__main__":
    main()
