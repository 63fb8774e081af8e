"""E-bike fire interventions on common random numbers: paired differences against the baseline.

For each seed, every option meets the same city, background calls and
candidate ignitions (charging piles thin them); the script prints, per
option, the mean per simulated day of fires, time to first water, people
exposed and expected casualties, and the paired mean difference in expected
casualties against the baseline with a 95 % t interval.

    python benchmarks/fire_interventions.py --seeds 20 --rate-multiplier 200
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import stats

from sim import engine
from sim.config import Config
from sim.runner import prepare

OPTIONS: dict[str, tuple[str, ...]] = {
    "baseline": (),
    "charging_piles": ("charging_piles",),
    "sprinklers": ("sprinklers",),
    "alarm_maintenance": ("alarm_maintenance",),
    "street_stations": ("street_stations",),
    "pressure_monitoring": ("pressure_monitoring",),
    "piles+sprinklers": ("charging_piles", "sprinklers"),
}


def one(seed: int, flags: tuple[str, ...], rate_multiplier: float) -> dict[str, float]:
    cfg = Config(seed=seed)
    cfg.scenario.name = "ebike_fire"
    cfg.scenario.ebike_fire.rate_multiplier = rate_multiplier
    cfg.scenario.ebike_fire.min_fires = 0
    for f in flags:
        setattr(cfg.policy.interventions, f, True)
    p = prepare(cfg)
    log = engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams)
    water = [r.value for r in log.events if r.kind == "first_water" and r.value is not None]
    return {
        "fires": float(sum(1 for r in log.events if r.kind == "ignite")),
        "first_water_s": float(np.mean(water)) if water else math.nan,
        "exposed": float(sum(r.value or 0.0 for r in log.events if r.kind == "exposed")),
        "casualties": float(sum(r.value or 0.0 for r in log.events if r.kind == "casualties")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--rate-multiplier", type=float, default=200.0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    res = {name: [one(s, flags, args.rate_multiplier) for s in range(args.seeds)] for name, flags in OPTIONS.items()}
    base = np.array([r["casualties"] for r in res["baseline"]])
    print(f"{args.seeds} seeds, rate_multiplier {args.rate_multiplier:g}, one simulated day each")
    print(f"{'option':<20}{'fires':>7}{'water s':>9}{'exposed':>9}{'casualties':>11}   paired diff (95 % CI)")
    for name, rows in res.items():
        arr = {k: np.array([r[k] for r in rows]) for k in rows[0]}
        d = arr["casualties"] - base
        if name == "baseline" or np.allclose(d, 0):
            ci = "0"
        else:
            half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
            ci = f"{d.mean():+.2f} ({d.mean() - half:+.2f} to {d.mean() + half:+.2f})"
        print(f"{name:<20}{arr['fires'].mean():>7.2f}{np.nanmean(arr['first_water_s']):>9.0f}"
              f"{arr['exposed'].mean():>9.1f}{arr['casualties'].mean():>11.2f}   {ci}")
    print(f"wall {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
