"""The response side of a run: dispatch rule, run cards, interventions.

``make_policy`` turns the ``policy`` config (and the unit turnout times the
city config sets) into a :class:`Policy` the engine reads. Policies combine:
Hydra's multi-select merges each chosen ``conf/policy/*.yaml`` into one
``PolicyConfig`` (``policy=[baseline,pressure_monitoring]``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from sim.config import CityConfig, PolicyConfig, ServiceTime

__all__ = ["Policy", "draw", "make_policy"]


def draw(st: ServiceTime, u: float) -> float:
    """A duration from ``st`` by inverse CDF at the uniform ``u`` in (0, 1).

    Inverse-CDF sampling couples runs: the same ``u`` under two policies gives
    durations that differ only as the distributions do (common random numbers).
    lognormal: ``median * exp(sigma * Phi^-1(u))``; exponential:
    ``-mean * ln(1 - u)``; fixed: ``median``.
    """
    if st.dist == "fixed":
        return float(st.median_s)
    if st.dist == "exponential":
        return float(-st.mean_s * np.log1p(-u))
    return float(st.median_s * np.exp(st.sigma * ndtri(u)))


@dataclass(frozen=True)
class Policy:
    cfg: PolicyConfig
    turnout_s: dict[str, float]  # unit kind -> turnout time when leaving quarters
    start_hour: float = 0.0  # local hour of day at t = 0 (duty rosters)

    @property
    def name(self) -> str:
        return self.cfg.name


def make_policy(cfg: PolicyConfig, city_cfg: CityConfig, start_hour: float = 0.0) -> Policy:
    turnout = {
        "engine": city_cfg.fire.turnout_s,
        "ladder": city_cfg.fire.turnout_s,
        "rescue": city_cfg.fire.turnout_s,
        "ambulance": city_cfg.ambulance.turnout_s,
        "water_crew": city_cfg.water.turnout_s,
        "power_crew": city_cfg.power.power_turnout_s,
        "elevator_tech": city_cfg.power.elevator_turnout_s,
        "gas_crew": city_cfg.gas.turnout_s,
    }
    return Policy(cfg=cfg, turnout_s=turnout, start_hour=start_hour)
