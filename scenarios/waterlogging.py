"""Urban waterlogging: the rain of a rainstorm, as one hazard.

A pure generator (no SimPy): a Chicago design storm from the IDF formula, or
a measured rain series from a CSV (:mod:`sim.flood`), on the flood model's
time step, starting at ``storm.start_s``. The hazard ``weather.rain`` holds
the rain per step (mm) so that ``hazards.csv`` records the storm a run met;
the engine's flood process (:mod:`sim.flood_process`) owns every consequence.
The storm uses no randomness: ``rng`` is accepted for the common signature.
"""

from __future__ import annotations

import logging

import numpy as np

from scenarios.base import Hazard
from sim.city import City
from sim.config import ScenarioConfig
from sim.flood import hyetograph

__all__ = ["build"]

log = logging.getLogger("cityres")


def build(cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float) -> list[Hazard]:
    w = cfg.waterlogging
    step = w.hydrology.step_s
    mm = hyetograph(w.storm, step)
    s = w.storm
    params: dict[str, object] = {
        "source": s.kind,
        "step_s": step,
        "mm": [round(float(x), 6) for x in mm],
        "total_mm": round(float(mm.sum()), 3),
        "peak_mm_h": round(float(mm.max()) * 3600.0 / step, 3) if len(mm) else 0.0,
        "duration_s": round(len(mm) * step, 3),
    }
    # Rain after the horizon never falls in the run: say how much (a CSV written in clock
    # seconds instead of seconds from storm.start_s would lose most of its storm this way).
    t_end = np.asarray(s.start_s + step * np.arange(1, len(mm) + 1), dtype=float)
    late = float(mm[t_end - step >= horizon_s].sum()) if len(mm) else 0.0
    if late > 0:
        log.warning("%.1f of the storm's %.1f mm fall after run.horizon_s=%g (storm.start_s=%g, %s): not simulated",
                    late, float(mm.sum()), horizon_s, s.start_s,
                    "csv times count from storm.start_s" if s.kind == "csv" else f"duration {len(mm) * step:g} s")
        params["mm_after_horizon"] = round(late, 3)
    if s.kind == "chicago":
        params.update(return_period_yr=s.return_period_yr, peak_ratio=s.peak_ratio)
    else:
        params["file"] = s.csv_file
    return [Hazard(id="H1", t_s=float(s.start_s), kind="weather.rain", scope="weather.rain", params=params)]
