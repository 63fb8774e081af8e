"""Run time and peak memory as the city and the horizon grow, as ratios to the smallest run.

    python benchmarks/bench_scaling.py [--base 0.25] [--factors 1 2 4] [--repeat 3]

City size: the metro generator (``conf/city/metro.yaml``) at ``base``,
``2 x base`` and ``4 x base`` of its area, with population, zones, basins,
underpasses and ambulance stations scaled alike (``base=0.25``: 1x is a
quarter of the metro, ~27k road nodes; 4x is the full metro, ~106k).
Horizon: the ``base`` city over 1, 2 and 4 simulated days.

Each configuration runs in a fresh child process (so its peak resident
memory is its own): build (``prepare``: config, city, hazards, calls), the
engine run (streaming its log to a run folder, as ``cityres`` does), and
writing the rest of the run tables and the city files (no report). The
parent prints the figures and their ratios to the 1x row.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(scale: float, days: float) -> None:
    sys.path.insert(0, str(HERE))
    from _metro import metro_config

    from scenarios.base import hazard_rows
    from sim import engine
    from sim.output import RunSink, write_city, write_run_tables
    from sim.runner import prepare

    cfg = metro_config(scale)
    cfg.run.horizon_s = 86400.0 * days
    t0 = time.perf_counter()
    prep = prepare(cfg)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        # As the runner does: the log streams to the folder while the engine runs (its
        # writing is counted in run_s), the rest is written after.
        sink = RunSink(Path(d), prep.city)
        log = engine.run(prep.city, prep.hazards, prep.calls, prep.policy, cfg.run.horizon_s, prep.streams,
                         sink=sink)
        t2 = time.perf_counter()
        write_run_tables(Path(d), log, prep.city, hazard_rows(prep.hazards))
        write_city(Path(d), prep.city)
        t3 = time.perf_counter()
    print(json.dumps({
        "nodes": prep.city.roads.n_nodes, "incidents": log.n_incidents, "events": log.n_events,
        "build_s": t1 - t0, "run_s": t2 - t1, "write_s": t3 - t2,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


def measure(scale: float, days: float, repeat: int) -> dict[str, float]:
    """Best of ``repeat`` children, phase by phase (these machines are shared: one slow phase is noise)."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, __file__, "--child", str(scale), str(days)],
                             check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = dict(runs[0])
    for key in ("build_s", "run_s", "write_s", "peak_mb"):
        best[key] = min(r[key] for r in runs)
    return best


def table(title: str, rows: list[tuple[str, dict[str, float]]]) -> None:
    print(f"\n{title}")
    print("case   nodes    incidents  records  build_s  run_s  write_s  peak_MB   build_x  run_x  write_x  mem_x"
          "  run/incident_x")
    ref = rows[0][1]
    for label, r in rows:
        print(f"{label:5s} {r['nodes']:7.0f} {r['incidents']:10.0f} {r['events']:8.0f} {r['build_s']:8.2f} "
              f"{r['run_s']:6.2f} {r['write_s']:8.2f} {r['peak_mb']:8.0f} {r['build_s'] / ref['build_s']:8.2f} "
              f"{r['run_s'] / ref['run_s']:6.2f} {r['write_s'] / ref['write_s']:8.2f} "
              f"{r['peak_mb'] / ref['peak_mb']:6.2f} "
              f"{(r['run_s'] / r['incidents']) / (ref['run_s'] / ref['incidents']):15.2f}", flush=True)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(float(sys.argv[2]), float(sys.argv[3]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=float, default=0.25, help="area of the 1x city, as a fraction of the metro")
    ap.add_argument("--factors", type=float, nargs="*", default=[1.0, 2.0, 4.0])
    ap.add_argument("--repeat", type=int, default=3, help="children per configuration; the best of each phase")
    args = ap.parse_args()
    size = [(f"{f:g}x", measure(args.base * f, 1.0, args.repeat)) for f in args.factors]
    table(f"city size (1x = {args.base:g} of the metro's area, one simulated day)", size)
    horizon = [(f"{f:g}x", size[0][1] if f == 1.0 else measure(args.base, f, args.repeat)) for f in args.factors]
    table(f"horizon (1x = one simulated day, {args.base:g} of the metro's area)", horizon)


if __name__ == "__main__":
    main()
