"""What one run of a sweep costs beside its simulation, as ratios to the engine, measured in one process.

    python benchmarks/bench_run.py [--seeds 10] [--report] [--city district]

A sweep job composes its config (Hydra: the basic sweeper composes every
job's config once to check the batch, and the launcher composes it again
for the job), builds or reads its city, draws its hazards and calls, runs
the engine, and writes the run folder: tables, city files, the metrics in
``summary.json`` and, unless ``run.report=false``, the report. Each part's
mean wall time over ``--seeds`` runs (seeds 1..N, after one warm-up run) is
printed with its ratio to the engine's. Two passes: the city drawn from
each run's seed (a new city per seed, the default) and pinned with
``city.seed=0`` (read from the cache or rebuilt, by the city kind's build
time; ``sim/citycache.py``).
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import analysis
import sim.runner as runner
from sim.config import Config, register_configs

try:
    from benchmarks._metro import metro_config
except ImportError:  # run as a script from benchmarks/
    from _metro import metro_config  # type: ignore[no-redef]

PARTS = {  # (module, function) -> label, in the order a run calls them
    (runner, "build_city"): "city build",
    (runner.scenarios, "build"): "hazards",
    (runner, "background_calls"): "calls",
    (runner.engine, "run"): "engine",
    (runner, "write_run_tables"): "tables",
    (runner, "write_city_files"): "city files",
    (analysis, "load_run"): "metrics",
    (analysis, "headline"): "metrics",
}


def timed(spent: collections.Counter[str]) -> Callable[[], None]:
    """Wrap each part so its wall time adds to ``spent``; returns the undo."""
    originals = []
    for (mod, name), label in PARTS.items():
        f = getattr(mod, name)
        originals.append((mod, name, f))

        def wrapper(*a: Any, _f: Callable[..., Any] = f, _label: str = label, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                spent[_label] += time.perf_counter() - t

        setattr(mod, name, wrapper)

    def undo() -> None:
        for mod, name, f in originals:
            setattr(mod, name, f)

    return undo


def compose_s(overrides: list[str], n: int) -> float:
    """Mean wall time of Hydra composing the run's config (with the hydra node, as a job does)."""
    from hydra import compose, initialize_config_module

    register_configs()
    with initialize_config_module(config_module="conf", version_base=None):
        compose("config", overrides=overrides, return_hydra_config=True)  # warm
        t = time.perf_counter()
        for i in range(n):
            compose("config", overrides=[*overrides, f"seed={i}"], return_hydra_config=True)
        return (time.perf_counter() - t) / n


def runs(make: Callable[[int], Config], seeds: int, out: Path) -> tuple[float, collections.Counter[str]]:
    """Mean wall time of ``simulate`` over seeds 1..N and the mean time of each part."""
    runner.simulate(make(0), out / "warm")
    spent: collections.Counter[str] = collections.Counter()
    undo = timed(spent)
    try:
        t = time.perf_counter()
        for s in range(1, seeds + 1):
            runner.simulate(make(s), out / str(s))
        total = (time.perf_counter() - t) / seeds
    finally:
        undo()
    return total, collections.Counter({k: v / seeds for k, v in spent.items()})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--report", action="store_true", help="write the report too (run.report=true)")
    ap.add_argument("--city", default="district", choices=["district", "metro"])
    args = ap.parse_args()
    overrides = [f"city={args.city}", f"run.report={str(args.report).lower()}"]
    hydra_s = compose_s(overrides, max(args.seeds, 3))

    def make(pinned: bool) -> Callable[[int], Config]:
        def cfg(seed: int) -> Config:
            c = metro_config() if args.city == "metro" else Config()
            c.seed = seed
            c.scenario.name = "pipe_burst"
            c.run.report = args.report
            c.city.seed = 0 if pinned else None
            c.run.city_cache = True  # as `cityres` runs (the metro benchmarks elsewhere rebuild it)
            return c

        return cfg

    print(f"{args.city}, pipe_burst, one day, report {'on' if args.report else 'off'}; mean of {args.seeds} seeds")
    print(f"{'part':24s} {'city per seed':>22s} {'city.seed=0':>22s}")
    rows: dict[str, list[float]] = collections.defaultdict(list)
    totals = []
    with tempfile.TemporaryDirectory(prefix="bench_run.") as tmp:
        for pinned in (False, True):
            total, spent = runs(make(pinned), args.seeds, Path(tmp) / ("pinned" if pinned else "per_seed"))
            totals.append(total)
            for label in dict.fromkeys(PARTS.values()):
                rows[label].append(spent[label])
            rows["engine (ref)"].append(spent["engine"])
            rows["rest of the run"].append(total - sum(spent.values()))
    engine = rows.pop("engine (ref)")

    def cell(v: float, e: float) -> str:
        return f"{v * 1e3:9.1f} ms {v / e:7.1f}x"

    rows["Hydra compose x2"] = [2 * hydra_s, 2 * hydra_s]
    for label, (a, b) in rows.items():
        print(f"{label:24s} {cell(a, engine[0]):>22s} {cell(b, engine[1]):>22s}")
    job = [t + 2 * hydra_s for t in totals]
    print(f"{'a sweep job (sum)':24s} {cell(job[0], engine[0]):>22s} {cell(job[1], engine[1]):>22s}")


if __name__ == "__main__":
    main()
