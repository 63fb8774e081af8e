"""Background calls: everyday fires, medical and rescue calls.

A non-homogeneous Poisson process: the rate of type ``k`` in hour ``h`` is
``population/1000 * per_1000_per_day[k] / 24 * profile[h] / mean(profile)``,
so the daily total matches the configured rate and the profile only shapes
it. Places are drawn in proportion to the customers (households) at each
road node, so calls come from where people live. Drawn from the ``calls``
stream only, so the same seed gives the same calls whatever the policy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.city import City
from sim.config import BackgroundCallsConfig

__all__ = ["Call", "background_calls"]


@dataclass(frozen=True)
class Call:
    t_s: float
    type: str
    node: int


def background_calls(
    cfg: BackgroundCallsConfig,
    city: City,
    rng: np.random.Generator,
    horizon_s: float,
    start_hour: float = 0.0,
) -> list[Call]:
    """Calls on ``[0, horizon_s)``; ``start_hour`` is the clock hour of t_s = 0."""
    if not cfg.enabled:
        return []
    weights = city.water.customers.astype(float)
    if weights.sum() <= 0:
        weights = np.ones(city.roads.n_nodes)
    p = weights / weights.sum()
    profile = np.asarray(cfg.hourly_profile, dtype=float)
    profile = profile / profile.mean()
    calls: list[Call] = []
    for kind in sorted(cfg.per_1000_per_day):
        per_s = city.population / 1000.0 * cfg.per_1000_per_day[kind] / 86400.0
        t = 0.0
        # Piecewise-constant rate: one Poisson count per clock hour slice.
        while t < horizon_s:
            hour = int((start_hour + t / 3600.0) % 24)
            edge = min((np.floor(start_hour + t / 3600.0) + 1 - start_hour) * 3600.0, horizon_s)
            n = rng.poisson(per_s * profile[hour] * (edge - t))
            times = rng.uniform(t, edge, size=n)
            nodes = rng.choice(len(p), size=n, p=p)
            calls.extend(Call(float(ti), kind, int(ni)) for ti, ni in zip(times, nodes, strict=True))
            t = edge
    calls.sort(key=lambda c: (c.t_s, c.type, c.node))
    return calls
