"""Gas leaks: on mains (third-party excavation, corrosion) and at bottled-LPG users.

Either an explicit list (``scenario.gas_leak.leaks``: a pipe or, for LPG, a
zone, a time and a cause), or leaks drawn as Poisson processes: per gas main
``(excavation + corrosion rate per 100 km per year) x length x multiplier``,
and per zone ``lpg rate per 10,000 users per year x users x multiplier``, in
the window ``[window_start_s, window_end_s)``. The rates are assumptions of
the order utilities report, in the config. ``min_leaks`` adds main leaks on
pipes drawn by rate until there are that many: a stress day, said plainly.
What follows (detection, evacuation, ignition, shut-off, repair, relighting)
is the engine's.
"""

from __future__ import annotations

import numpy as np

from scenarios.base import Hazard
from sim.city import City
from sim.config import ConfigError, ScenarioConfig

__all__ = ["build"]

_SECONDS_PER_YEAR = 365.25 * 86400.0


def build(cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float) -> list[Hazard]:
    gl = cfg.gas_leak
    gas = city.gas
    if gas is None or gas.n_pipes == 0:
        raise ConfigError("scenario.name", "gas_leak needs a city with a gas network (city.gas.enabled=true)")
    index = {pid: j for j, pid in enumerate(gas.pipe_ids)}
    zones = {z.id: z for z in city.zones}
    events: list[tuple[float, str, str, str]] = []  # (t, "pipe"|"zone", id, cause)
    if gl.leaks:
        for i, lk in enumerate(gl.leaks):
            key = f"scenario.gas_leak.leaks[{i}]"
            if lk.pipe is not None and lk.pipe not in index:
                raise ConfigError(f"{key}.pipe", f"no gas main {lk.pipe!r} (mains are {gas.pipe_ids[0]}..{gas.pipe_ids[-1]})")
            if lk.zone is not None and lk.zone not in zones:
                raise ConfigError(f"{key}.zone", f"no zone {lk.zone!r} (zones: {', '.join(sorted(zones))})")
            if not 0 <= lk.t_s < horizon_s:
                raise ConfigError(f"{key}.t_s", f"must be in [0, {horizon_s})")
            events.append((float(lk.t_s), "pipe" if lk.pipe else "zone", str(lk.pipe or lk.zone), lk.cause))
    else:
        t0, t1 = gl.window_start_s, min(gl.window_end_s, horizon_s)
        span = max(t1 - t0, 0.0)
        per_s = gl.rate_multiplier * span / _SECONDS_PER_YEAR
        lam = {"excavation": gl.excavation_per_100km_yr * gas.length_m / 100_000.0 * per_s,
               "corrosion": gl.corrosion_per_100km_yr * gas.length_m / 100_000.0 * per_s}
        for cause in ("excavation", "corrosion"):
            counts = rng.poisson(lam[cause])
            for j in np.nonzero(counts)[0]:
                for t in rng.uniform(t0, t1, size=counts[j]):
                    events.append((float(t), "pipe", gas.pipe_ids[int(j)], cause))
        users = np.array([k for _, k in city.lpg_users], dtype=float)
        counts = rng.poisson(gl.lpg_per_10k_yr * users / 10_000.0 * per_s)
        for z in np.nonzero(counts)[0]:
            for t in rng.uniform(t0, t1, size=counts[z]):
                events.append((float(t), "zone", city.lpg_users[int(z)][0], "lpg"))
        extra = max(gl.min_leaks - sum(1 for e in events if e[1] == "pipe"), 0)
        if extra and span > 0:
            w = lam["excavation"] + lam["corrosion"]
            for j in rng.choice(gas.n_pipes, size=extra, replace=False, p=w / w.sum()):
                events.append((float(rng.uniform(t0, t1)), "pipe", gas.pipe_ids[int(j)], "excavation"))
    events.sort()
    # An LPG leak happens at a home or shop of its zone: a node drawn by customers.
    from sim.district_power import node_zones

    nz = node_zones(city.roads, city.zones)
    zone_index = {z.id: k for k, z in enumerate(city.zones)}
    hazards = []
    for i, (t, where, ident, cause) in enumerate(events, start=1):
        if where == "pipe":
            k = index[ident]
            params: dict[str, object] = {"pipe": ident, "cause": cause, "diameter_mm": float(gas.diameter_mm[k]),
                                         "material": gas.material[k], "length_m": round(float(gas.length_m[k]), 1)}
            hazards.append(Hazard(f"H{i}", round(t, 3), "gas.leak", f"gas.pipe.{ident}", params))
        else:
            members = np.nonzero(nz == zone_index[ident])[0]
            w = city.water.customers[members].astype(float)
            node = int(rng.choice(members, p=w / w.sum()) if w.sum() > 0 else members[0])
            hazards.append(Hazard(f"H{i}", round(t, 3), "gas.lpg_leak", f"roads.node.{node}",
                                  {"zone": ident, "cause": "lpg", "node": node}))
    return hazards
