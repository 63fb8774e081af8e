"""Engine cost per SimPy event, as a ratio against a bare SimPy loop, measured in one process.

    python benchmarks/bench_engine.py [--city district metro] [--scenario pipe_burst] [--profile]

For each city (``district``: the default run; ``metro``: ``city=metro``),
one simulated day of the ``pipe_burst`` scenario (``--scenario``) is run through
``sim.engine.run`` while ``simpy.Environment.step`` is counted; the wall
time per processed event is divided by the wall time per event of bare
SimPy processes that only yield timeouts, processing the same number of
events. The ratio is what the model costs per event it schedules (set-up of
the world included: it is part of every run). Both sides take the best of
``--repeat`` runs: the machines are shared and noisy. Building the city and writing
the run folder are not part of it (see ``bench_scaling.py``).

Each row also splits the engine's wall time: ``setup`` (from the call to
``engine.run`` until SimPy starts: road, water, gas and lifeline state, units),
``search`` (the shortest-path searches: every scipy Dijkstra call, full or
distance-limited) and the rest, the event machinery (SimPy, dispatch,
incidents, records, lifelines, streaming), whose cost per event is printed
as a ratio to the bare loop too (``rest/bare``).

``--profile`` prints where the engine's time goes (cProfile, by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from datetime import datetime

import simpy

from sim import engine, roads
from sim.config import Config
from sim.runner import Prepared, prepare

try:
    from benchmarks._metro import metro_config
except ImportError:  # run as a script from benchmarks/
    from _metro import metro_config  # type: ignore[no-redef]


def bare_simpy(n_events: int) -> float:
    """Wall time per event of processes that only yield timeouts (n_events in all)."""
    env = simpy.Environment()
    per_proc = 50

    def proc(env: simpy.Environment):  # noqa: ANN202 - a SimPy generator
        for _ in range(per_proc):
            yield env.timeout(1.0)

    n_proc = max(n_events // (per_proc + 1), 1)  # each process also schedules its own start
    for _ in range(n_proc):
        env.process(proc(env))
    steps = 0
    orig = simpy.Environment.step

    def counting(self: simpy.Environment) -> None:
        nonlocal steps
        steps += 1
        orig(self)

    t0 = time.perf_counter()
    env.run()
    wall = time.perf_counter() - t0
    # Count the events once more without timing (the counter's own cost is not SimPy's).
    env2 = simpy.Environment()
    for _ in range(n_proc):
        env2.process(proc(env2))
    simpy.Environment.step = counting  # type: ignore[method-assign]
    try:
        env2.run()
    finally:
        simpy.Environment.step = orig  # type: ignore[method-assign]
    return wall / steps


def run_engine(prep: Prepared) -> engine.RunLog:
    """The engine as the runner calls it (the scenario and the start hour matter to a flood)."""
    start = datetime.fromisoformat(prep.cfg.run.start)
    return engine.run(prep.city, prep.hazards, prep.calls, prep.policy, prep.cfg.run.horizon_s, prep.streams,
                      scenario=prep.cfg.scenario, start_hour=start.hour + start.minute / 60.0)


def count_events(prep: Prepared, repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` engine runs (uncounted) and the SimPy events of one (counted)."""
    wall = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run_engine(prep)
        wall = min(wall, time.perf_counter() - t0)
    n = 0
    orig = simpy.Environment.step

    def counting(self: simpy.Environment) -> None:
        nonlocal n
        n += 1
        orig(self)

    simpy.Environment.step = counting  # type: ignore[method-assign]
    try:
        run_engine(prep)
    finally:
        simpy.Environment.step = orig  # type: ignore[method-assign]
    return wall, n


def breakdown(prep: Prepared) -> tuple[float, float, float]:
    """One engine run split into (set-up s, search s, total s): Dijkstra calls and SimPy's start are timed."""
    search = 0.0
    started = 0.0
    dijkstra, env_run = roads.dijkstra, simpy.Environment.run

    def timed(*a: object, **k: object) -> object:
        nonlocal search
        t = time.perf_counter()
        try:
            return dijkstra(*a, **k)
        finally:
            search += time.perf_counter() - t

    def run(self: simpy.Environment, until: object = None) -> object:
        nonlocal started
        started = time.perf_counter()
        return env_run(self, until)

    roads.dijkstra = timed  # type: ignore[assignment]
    simpy.Environment.run = run  # type: ignore[method-assign]
    try:
        t0 = time.perf_counter()
        run_engine(prep)
        total = time.perf_counter() - t0
    finally:
        roads.dijkstra = dijkstra
        simpy.Environment.run = env_run  # type: ignore[method-assign]
    return started - t0, search, total


def profile(prep: Prepared, top: int) -> str:
    prof = cProfile.Profile()
    prof.runcall(run_engine, prep)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--city", nargs="*", default=["district", "metro"], choices=["district", "metro"])
    ap.add_argument("--scenario", default="pipe_burst", help="e.g. waterlogging: a flood day")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=5, help="best of N (the metro: best of 1 + N // 5)")
    args = ap.parse_args()
    print("city      nodes   calls  events  engine_s  us/event  bare_us/event  engine/bare  "
          "setup_s  search_s  rest_s  rest/bare")
    for name in args.city:
        if name == "metro":
            cfg = metro_config(scenario=args.scenario)
        else:
            cfg = Config()
            cfg.scenario.name = args.scenario
        prep = prepare(cfg)
        wall, n_ev = count_events(prep, args.repeat if name == "district" else 1 + args.repeat // 5)
        base = min(bare_simpy(max(n_ev, 20_000)) for _ in range(args.repeat))
        # The split of the best of a few runs (the same run each time: the split is what varies least).
        setup, search, total = min((breakdown(prep) for _ in range(max(1, args.repeat // 2))), key=lambda b: b[2])
        rest = max(total - setup - search, 0.0)
        print(f"{name:8s} {prep.city.roads.n_nodes:6d} {len(prep.calls):7d} {n_ev:7d} {wall:9.2f} "
              f"{wall / n_ev * 1e6:9.1f} {base * 1e6:14.2f} {wall / n_ev / base:11.1f}x "
              f"{setup:8.2f} {search:9.2f} {rest:7.2f} {rest / n_ev / base:9.1f}x", flush=True)
        if args.profile:
            print(profile(prep, args.top))


if __name__ == "__main__":
    main()
