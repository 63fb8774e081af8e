"""Water main bursts: which mains break, and when.

Either an explicit list (``scenario.pipe_burst.bursts``: pipe id and time), or
breaks drawn per pipe from a rate per 100 km per year by material, spread
over the pipes by age: ``lambda_i = rate(m) * L_i/100 km * exp(A * age_i) /
E_m[exp(A * age)] * multiplier`` with ``m`` pipe i's material (the
exponential ageing of Shamir & Howard 1979; A in 0.02-0.05/yr is an
assumption). The material rates from NRC Canada (DOMAIN.md 5.1) are network
averages over pipes of every age, so the ageing term is divided by its
length-weighted mean over the city's pipes of that material: older mains
break more often, and each material's network rate stays the cited one.
Breaks in the window ``[window_start_s, window_end_s)`` follow a Poisson
process per pipe. Everyday rates give few breaks in a day, so ``min_bursts``
adds breaks on pipes drawn in proportion to their rate until there are that
many: a stress day rather than an average one, said plainly in the config.
"""

from __future__ import annotations

import numpy as np

from scenarios.base import Hazard
from sim.city import City
from sim.config import ConfigError, ScenarioConfig

__all__ = ["break_rates", "build"]

_SECONDS_PER_YEAR = 365.25 * 86400.0


def break_rates(city: City, cfg: ScenarioConfig) -> np.ndarray:
    """Breaks per second for each pipe (see the module docstring for the formula)."""
    pb = cfg.pipe_burst
    w = city.water
    rates = np.empty(w.n_pipes)
    for j, mat in enumerate(w.material):
        if mat not in pb.rate_per_100km_yr:
            raise ConfigError(
                "scenario.pipe_burst.rate_per_100km_yr",
                f"no rate for material {mat!r} (pipe {w.pipe_ids[j]}); "
                f"known: {', '.join(sorted(pb.rate_per_100km_yr))}",
            )
        rates[j] = pb.rate_per_100km_yr[mat]
    age = np.clip(pb.reference_year - w.install_year, 0, None)
    ageing = np.exp(pb.age_factor_per_yr * age)
    length = np.asarray(w.length_m, dtype=float)
    # Each material's length-weighted mean ageing is 1: the cited rate is the network average.
    materials, of_pipe = np.unique(np.asarray(w.material), return_inverse=True)
    weighted = np.bincount(of_pipe, weights=ageing * length, minlength=len(materials))
    mean = weighted / np.maximum(np.bincount(of_pipe, weights=length, minlength=len(materials)), 1e-12)
    per_year = rates * (length / 100_000.0) * ageing / mean[of_pipe] * pb.rate_multiplier
    return per_year / _SECONDS_PER_YEAR


def build(cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float) -> list[Hazard]:
    pb = cfg.pipe_burst
    w = city.water
    index = {pid: j for j, pid in enumerate(w.pipe_ids)}
    events: list[tuple[float, int, str]] = []
    if pb.bursts:
        for i, b in enumerate(pb.bursts):
            if b.pipe not in index:
                raise ConfigError(
                    f"scenario.pipe_burst.bursts[{i}].pipe",
                    f"no pipe {b.pipe!r} in the city (pipes are {w.pipe_ids[0]}..{w.pipe_ids[-1]})",
                )
            if not 0 <= b.t_s < horizon_s:
                raise ConfigError(f"scenario.pipe_burst.bursts[{i}].t_s", f"must be in [0, {horizon_s})")
            events.append((float(b.t_s), index[b.pipe], "explicit"))
    else:
        lam = break_rates(city, cfg)
        t0, t1 = pb.window_start_s, min(pb.window_end_s, horizon_s)
        span = max(t1 - t0, 0.0)
        counts = rng.poisson(lam * span)
        for jj in np.nonzero(counts)[0]:
            for t in rng.uniform(t0, t1, size=counts[jj]):
                events.append((float(t), int(jj), "rate"))
        extra = max(pb.min_bursts - len(events), 0)
        if extra and span > 0:
            pipes = rng.choice(w.n_pipes, size=extra, replace=False, p=lam / lam.sum())
            for jj in pipes:
                events.append((float(rng.uniform(t0, t1)), int(jj), "min_bursts"))
    events.sort()
    hazards = []
    for k, (t, j, why) in enumerate(events, start=1):
        hazards.append(
            Hazard(
                id=f"H{k}",
                t_s=round(t, 3),
                kind="water.pipe_burst",
                scope=f"water.pipe.{w.pipe_ids[j]}",
                params={
                    "pipe": w.pipe_ids[j],
                    "diameter_mm": float(w.diameter_mm[j]),
                    "material": w.material[j],
                    "install_year": int(w.install_year[j]),
                    "length_m": round(float(w.length_m[j]), 1),
                    "origin": why,
                },
            )
        )
    return hazards
