"""Power outages: substation and feeder faults, and when they happen.

Either an explicit list (``scenario.power_outage.faults``: component scope and
time), or faults drawn as Poisson processes per component from a rate per
year (``substation_rate_per_yr``, ``feeder_rate_per_yr``, both assumptions of
the order utilities report for equipment faults; configurable) times
``rate_multiplier`` in the window ``[window_start_s, window_end_s)``. An
everyday day has almost no faults, so ``min_faults`` adds substation faults
(then feeder faults) at uniformly drawn times until there are that many: a
stress day, said plainly in the config. What follows a fault (feeders, pumps,
signals, elevators, hospitals) is the engine's cascade, not the scenario's.
"""

from __future__ import annotations

import numpy as np

from scenarios.base import Hazard
from sim.city import City
from sim.config import ConfigError, ScenarioConfig

__all__ = ["build"]

_SECONDS_PER_YEAR = 365.25 * 86400.0


def build(cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float) -> list[Hazard]:
    po = cfg.power_outage
    grid = city.power
    if grid is None or not grid.substations:
        raise ConfigError("scenario.name", "power_outage needs a city with a power grid (city.power.enabled=true)")
    comps = [f"power.substation.{s.id}" for s in grid.substations] + [f"power.feeder.{f.id}" for f in grid.feeders]
    known = set(comps)
    events: list[tuple[float, str, str]] = []
    if po.faults:
        for i, f in enumerate(po.faults):
            if f.component not in known:
                raise ConfigError(f"scenario.power_outage.faults[{i}].component",
                                  f"no {f.component!r} in the city (substations "
                                  f"{', '.join(s.id for s in grid.substations)}; feeders F + zone id)")
            if not 0 <= f.t_s < horizon_s:
                raise ConfigError(f"scenario.power_outage.faults[{i}].t_s", f"must be in [0, {horizon_s})")
            events.append((float(f.t_s), f.component, "explicit"))
    else:
        t0, t1 = po.window_start_s, min(po.window_end_s, horizon_s)
        span = max(t1 - t0, 0.0)
        rate = np.array([po.substation_rate_per_yr] * len(grid.substations) + [po.feeder_rate_per_yr] * len(grid.feeders))
        counts = rng.poisson(rate * po.rate_multiplier * span / _SECONDS_PER_YEAR)
        for k in np.nonzero(counts)[0]:
            for t in rng.uniform(t0, t1, size=counts[k]):
                events.append((float(t), comps[int(k)], "rate"))
        extra = max(po.min_faults - len(events), 0)
        if extra and span > 0:
            # Substations first (in a random order), then feeders: the cascade is the point.
            order = list(rng.permutation(len(grid.substations))) + \
                [len(grid.substations) + int(i) for i in rng.permutation(len(grid.feeders))]
            taken = {c for _, c, _ in events}
            for k in order:
                if extra == 0:
                    break
                if comps[int(k)] in taken:
                    continue
                events.append((float(rng.uniform(t0, t1)), comps[int(k)], "min_faults"))
                extra -= 1
    events.sort()
    hazards = []
    feeders = {f.id: f for f in grid.feeders}
    for i, (t, comp, why) in enumerate(events, start=1):
        kind, cid = comp.split(".")[1], comp.split(".")[2]
        params: dict[str, object] = {"component": comp, "origin": why}
        if kind == "feeder":
            params.update(substation=feeders[cid].substation, zone=feeders[cid].zone,
                          customers=feeders[cid].customers)
        else:
            params["feeders"] = sum(1 for f in grid.feeders if f.substation == cid)
        hazards.append(Hazard(id=f"H{i}", t_s=round(t, 3), kind=f"power.{kind}_fault", scope=comp, params=params))
    return hazards
