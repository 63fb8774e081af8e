"""E-bike battery fires in residential high-rises: where and when batteries ignite.

A pure generator (no SimPy), drawing from the ``hazards`` stream. Either an
explicit list (``scenario.ebike_fire.fires``: building, time, location,
floor), or ignitions drawn per high-rise and per charging location.

**Rate and its calibration.** ``F = national_fires_per_ebike_yr`` is the
national rate of e-bike fires per e-bike per year: 10,051 fires from 1 Jan to
20 May 2024 (141 days) with a fleet of about 400 million (国家消防救援局 press
conference of 2024-05-30, DOMAIN.md 4.2), ``10,051 x 365.25 / 141 / 4e8 =
6.5e-5``. Only the share ``h = home_share_of_fires`` of them start while a
bike charges or stands at home (Beijing, Jan 2025: 9 of 21; DOMAIN.md 4.2).
With ``s`` charging sessions per e-bike per day and a share ``m`` of
modified / over-capacity batteries that ignite ``k`` times as often, the
thermal-runaway rate per session of a standard battery is::

    r = F h / (365.25 s (1 - m_nat + m_nat k))

so that at the national mix (``m = m_nat``) and ``rate_multiplier = 1`` the
city's e-bikes (``households x ebikes_per_household``) have ``N F h``
home fires a year, all locations together. A building ``b`` with ``E_b``
e-bikes sees, at charging location ``L`` (share ``c_L`` of sessions)::

    lambda_bL = E_b c_L s r (1 - m + m k) x rate_multiplier x profile(hour)

per day, where ``profile`` (24 values, normalised to mean 1) puts the peak at
night. Fires at the centralized piles (``L = piles``) are outdoors and not
high-rise fires: they are not generated.

**Policy dependence (deliberate).** ``policy.interventions.charging_piles``
moves a share ``p = policy.fire.piles_moved_share`` of in-building charging to
piles, so it changes the hazards: fewer fires. For a fair comparison the
candidates are always drawn at the baseline rate and each one keeps a
uniform of its own; with piles a candidate survives when that uniform is
below ``1 - p`` (thinning: new rate / old rate). The fires of a piles run are
a subset of the baseline's fires for the same seed. Explicit fires are never
thinned.

``min_fires`` pads a quiet day with candidates drawn in proportion to the
rate (``origin = min_fires`` in ``hazards.csv``): a stress day, not an
average one. The default district (1,075 high-rises, 129,000 households)
expects about 0.0055 high-rise home fires a day at the national rate (about
2 a year), hence the default ``min_fires: 1``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from scenarios.base import Hazard
from sim.city import City, HighRise
from sim.config import ConfigError, PolicyConfig, ScenarioConfig
from sim.fire_config import EbikeFireConfig, FireSpec

__all__ = ["INDOOR", "build", "expected_fires", "keep_probability", "rate_per_session", "rates_per_day"]

#: Charging locations inside a building (ignitions there are high-rise fires).
INDOOR = ("flat", "corridor", "parking")
_DAYS_PER_YEAR = 365.25


def rate_per_session(e: EbikeFireConfig) -> float:
    """Thermal-runaway probability of one charging session of a standard battery."""
    mix = 1.0 - e.modified_share_national + e.modified_share_national * e.modified_multiplier
    if e.sessions_per_day <= 0 or mix <= 0:
        return 0.0
    return e.national_fires_per_ebike_yr * e.home_share_of_fires / (_DAYS_PER_YEAR * e.sessions_per_day * mix)


def rates_per_day(e: EbikeFireConfig, city: City) -> np.ndarray:
    """Expected home ignitions per day (profile mean), shape (high-rises, len(INDOOR))."""
    mix = 1.0 - e.modified_share + e.modified_share * e.modified_multiplier
    per_bike_session = rate_per_session(e) * mix * e.rate_multiplier
    hh = np.array([b.households for b in city.highrises], dtype=float)
    shares = np.array([e.charging_share.get(loc, 0.0) for loc in INDOOR])
    return np.outer(hh * e.ebikes_per_household * e.sessions_per_day * per_bike_session, shares)


def keep_probability(policy: PolicyConfig | None) -> float:
    """Share of in-building ignitions left once charging piles take ``piles_moved_share`` of the sessions."""
    if policy is None or not policy.interventions.charging_piles:
        return 1.0
    return 1.0 - policy.fire.piles_moved_share


def _hour_weights(e: EbikeFireConfig, horizon_s: float, start_hour: float) -> tuple[np.ndarray, np.ndarray]:
    """Bins of one clock hour over [0, horizon): (start times, weight = profile x overlap in days)."""
    prof = np.asarray(e.hourly_profile, dtype=float)
    prof = prof / prof.mean()
    first = 3600.0 * (math.ceil(start_hour) - start_hour)
    edges = [0.0] + list(np.arange(first if first > 0 else 3600.0, horizon_s, 3600.0)) + [horizon_s]
    edges_a = np.unique(np.array(edges))
    starts, ends = edges_a[:-1], edges_a[1:]
    hours = np.floor((start_hour + starts / 3600.0 + 1e-9) % 24).astype(int)
    return starts, prof[hours] * (ends - starts) / 86400.0


def expected_fires(
    cfg: ScenarioConfig, city: City, horizon_s: float, start_hour: float = 0.0, policy: PolicyConfig | None = None
) -> float:
    """Expected number of random high-rise fires over the horizon (before ``min_fires``)."""
    _, w = _hour_weights(cfg.ebike_fire, horizon_s, start_hour)
    return float(rates_per_day(cfg.ebike_fire, city).sum() * w.sum() * keep_probability(policy))


def build(
    cfg: ScenarioConfig,
    city: City,
    rng: np.random.Generator,
    horizon_s: float,
    *,
    policy: PolicyConfig | None = None,
    start_hour: float = 0.0,
) -> list[Hazard]:
    e = cfg.ebike_fire
    by_id = {b.id: b for b in city.highrises}
    # (t_s, building index, location, floor, shaft, modified, origin, kept)
    cands: list[tuple[float, int, str, int, bool, bool, str, bool]] = []
    overrides: list[dict[str, Any]] = []  # per explicit fire, in list order
    if e.fires:
        ids = sorted(by_id)
        for i, f in enumerate(e.fires):
            if f.building not in by_id:
                raise ConfigError(f"scenario.ebike_fire.fires[{i}].building",
                                  f"no high-rise {f.building!r} (ids are {ids[0] if ids else '-'}..{ids[-1] if ids else '-'})")
            if not 0 <= f.t_s < horizon_s:
                raise ConfigError(f"scenario.ebike_fire.fires[{i}].t_s", f"must be in [0, {horizon_s})")
            b = by_id[f.building]
            floors = f.floors if f.floors is not None else b.floors
            if f.floor > floors:
                raise ConfigError(f"scenario.ebike_fire.fires[{i}].floor", f"{b.id} has {floors} floors")
            j = list(city.highrises).index(b)
            cands.append((float(f.t_s), j, f.location, 1 if f.location == "parking" else int(f.floor),
                          bool(f.shaft), bool(f.modified), "explicit", True))
            overrides.append(_overrides(f))
    elif city.highrises:
        lam = rates_per_day(e, city)
        starts, w = _hour_weights(e, horizon_s, start_hour)
        counts = rng.poisson(lam * w.sum())
        cells = [(int(b), int(k)) for b, k in zip(*np.nonzero(counts), strict=True) for _ in range(counts[b, k])]
        extra = max(e.min_fires - len(cells), 0)
        if extra and lam.sum() > 0 and w.sum() > 0:
            flat = rng.choice(lam.size, size=extra, replace=True, p=(lam / lam.sum()).ravel())
            cells += [(int(c) // len(INDOOR), int(c) % len(INDOOR)) for c in flat]
        keep = keep_probability(policy)
        p_mod = e.modified_share * e.modified_multiplier / (
            1.0 - e.modified_share + e.modified_share * e.modified_multiplier)
        n_rate = len(cells) - extra
        for n, (j, k) in enumerate(cells):
            # Six uniforms per candidate, whatever the policy (common random numbers).
            u = rng.random(6)
            b = city.highrises[j]
            hb = int(np.searchsorted(np.cumsum(w) / w.sum(), u[0], side="right"))
            hb = min(hb, len(starts) - 1)
            end = starts[hb + 1] if hb + 1 < len(starts) else horizon_s
            t = float(starts[hb] + u[1] * (end - starts[hb]))
            loc = INDOOR[k]
            # Flats and corridors on floors 2..F (the ground floor is lobby and parking).
            floor = 1 if loc == "parking" or b.floors < 2 else 2 + int(u[2] * (b.floors - 1))
            cands.append((t, j, loc, min(floor, b.floors), bool(u[3] < e.shaft_share), bool(u[4] < p_mod),
                          "rate" if n < n_rate else "min_fires", bool(u[5] < keep)))
    overrides += [{} for _ in range(len(cands) - len(overrides))]
    order = sorted(range(len(cands)), key=lambda k: (cands[k][0], cands[k][1], cands[k][2]))
    hazards = []
    for n, k in enumerate((k for k in order if cands[k][7]), start=1):
        t, j, loc, floor, shaft, modified, origin, _ = cands[k]
        over = overrides[k]
        hr: HighRise = city.highrises[j]
        params: dict[str, Any] = {
            "building": hr.id, "location": loc, "floor": int(floor), "floors": int(hr.floors),
            "households": int(hr.households), "shaft": shaft, "modified": modified, "origin": origin,
            "hour": round((start_hour + t / 3600.0) % 24, 4),
        }
        params.update(over)
        hazards.append(Hazard(id=f"H{n}", t_s=round(t, 3), kind="fire.ebike",
                              scope=f"buildings.highrise.{hr.id}", params=params))
    return hazards


def _overrides(f: FireSpec) -> dict[str, Any]:
    """The case-replay fields an explicit fire sets (only those set, so ordinary params stay as they were)."""
    out: dict[str, Any] = {}
    if f.floors is not None:
        out["floors"] = int(f.floors)
    if f.households is not None:
        out["households"] = int(f.households)
    if f.alarm_works is not None:
        out["alarm_works"] = bool(f.alarm_works)
    if f.report_after_s is not None:
        out["report_after_s"] = float(f.report_after_s)
    if f.case:
        out["case"] = f.case
    return out
