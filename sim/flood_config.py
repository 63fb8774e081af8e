"""Config schemas of the waterlogging scenario and the early-warning policy.

Kept out of :mod:`sim.config` so that the shared schema file grows by one
field per section only; :mod:`sim.config` imports these classes and calls
:func:`validate_waterlogging` / :func:`validate_early_warning`. Every default
carries its source or is marked as an assumption (DOMAIN.md section 3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "EarlyWarningConfig",
    "HydrologyConfig",
    "PeopleConfig",
    "PumpTruckConfig",
    "RoadFloodConfig",
    "StormConfig",
    "TrappedConfig",
    "WaterloggingConfig",
    "validate_early_warning",
    "validate_waterlogging",
]


@dataclass
class StormConfig:
    """A Chicago design storm (Keifer & Chu 1957) or a measured rain series.

    IDF form (DOMAIN.md 3.3, Chinese 暴雨强度公式 in mm/min):
    ``i = A1 (1 + C lg P) / (t + b)^n``. The defaults are the commonly quoted
    2014 Nanjing formula ``q = 10716.7 (1 + 0.837 lg P) / (t + 32.9)^1.011``
    L/(s·ha) divided by 167 -- DOMAIN.md marks it [K, unverified]: an
    illustrative default until the published 南京市 formula is checked.
    """

    kind: str = "chicago"  # chicago | csv
    return_period_yr: float = 50.0
    duration_min: float = 120.0
    peak_ratio: float = 0.4  # r = t_peak / duration; DOMAIN.md: no Nanjing value, use 0.3-0.5
    idf_a1_mm_min: float = 64.17  # 10716.7 / 167 [K, unverified]
    idf_c: float = 0.837
    idf_b_min: float = 32.9
    idf_n: float = 1.011
    start_s: float = 57600.0  # 22:00 with run.start at 06:00: a storm at night
    csv_file: str | None = None  # kind=csv: rows "t_s,mm" (rain in the interval ending at t_s)


@dataclass
class HydrologyConfig:
    step_s: float = 300.0  # flood state advances every 5 min
    # SCS curve number for dense urban land (impervious CN 98, urban mix 85-95;
    # DOMAIN.md 3.2); one value for the district: an assumption.
    curve_number: float = 90.0
    # Drainage: pipes designed for P = 3 yr (GB 50014 雨水管渠 中心城区 3-5 a for
    # 特大/超大 cities, DOMAIN.md 3.4); capacity by the rational method
    # Q = psi * i(P, t_c) * A at the time of concentration t_c.
    design_return_period_yr: float = 3.0
    # Catchments whose low point is an underpass drain by their own pump
    # station, designed for 地下通道 30-50 a (GB 50014, DOMAIN.md 3.4).
    underpass_design_return_period_yr: float = 30.0
    # Time of concentration t_c = inlet time + sqrt(area) / pipe velocity: a
    # larger catchment has a longer t_c and a lower design intensity.
    # GB 50014 inlet time 5-15 min [K]; 1 m/s full-pipe velocity: assumptions.
    concentration_min: float = 10.0
    pipe_velocity_m_s: float = 1.0
    runoff_coefficient: float = 0.75  # psi of dense urban land, an assumption (0.6-0.8)
    # Each road node stands for an equal share of the district's bounding box;
    # underpass ends stand for a trough of this plan area (an assumption).
    underpass_area_m2: float = 2000.0
    flood_point_depth_m: float = 0.10  # Nanjing 积淹水点: > 10 cm (DOMAIN.md 3.5/3.1)
    # Underpass pump stations need power (lifelines rule drainage.pump): while
    # their zone's feeder is down the catchment drains nothing. True keeps them
    # running regardless (stations with their own backup generators).
    pumps_always_on: bool = False


@dataclass
class RoadFloodConfig:
    # Pregnolato et al. (2017): v(w) = 0.0009 w^2 - 0.5529 w + 86.9448 km/h, w in mm.
    # Emergency vehicles: closed at >= emergency_limit_m; below, the Pregnolato
    # speed share with a floor (high-chassis vehicles crawl): assumptions.
    emergency_limit_m: float = 0.6  # DOMAIN.md 3.1: >= 50-60 cm closed to all
    car_limit_m: float = 0.3  # 1 ft floats many cars (FEMA), Pregnolato v = 0 at 300 mm
    # DOMAIN.md 3.1 [D]: ">= 30 cm: closed to all but special rescue vehicles". Units of
    # light_kinds (vans and cars: ambulances, utility crews; an assumption) are closed out at
    # light_limit_m; the fire service's engines, ladders, rescue units and pump trucks keep
    # driving to emergency_limit_m. A light_limit_m at or above emergency_limit_m: one class.
    light_limit_m: float = 0.3
    light_kinds: list[str] = field(default_factory=lambda: [
        "ambulance", "water_crew", "power_crew", "gas_crew", "elevator_tech"])
    # Floor of the speed share in water for emergency vehicles, of the link's own free speed
    # (Pregnolato's curve reaches 0 at 30 cm): 2 km/h on a 25 km/h street, 3.2 km/h on a
    # 40 km/h arterial (assumption).
    min_speed_share: float = 0.08
    depth_step_m: float = 0.01  # depths are rounded to this before they change a road


@dataclass
class TrappedConfig:
    """Vehicles that drive into a flooded underpass before it is closed.

    When an underpass first passes ``car_limit_m``, the vehicles trapped are
    Poisson with mean ``vehicles_per_h * hourly_share[hour] * exposure_h``;
    an assumption, configurable. An underpass closed beforehand traps none.
    """

    vehicles_per_h: float = 600.0  # a two-lane arterial underpass at day flow, an assumption
    # Most drivers stop at the water; ~1 % of an hour's flow drives in (36 s of traffic): assumption.
    exposure_h: float = 0.01
    # Traffic by hour of day (mean 1): low at night.
    hourly_share: list[float] = field(
        default_factory=lambda: [
            0.25, 0.15, 0.1, 0.1, 0.15, 0.4, 0.9, 1.6, 1.8, 1.3, 1.1, 1.1,
            1.1, 1.1, 1.1, 1.2, 1.4, 1.8, 1.7, 1.3, 1.0, 0.8, 0.6, 0.4,
        ]
    )
    severity: int = 1
    # Run card of a trapped-vehicle rescue (policy.dispatch.run_cards overrides it).
    run_card: dict[str, int] = field(default_factory=lambda: {"rescue": 1})
    on_scene_s: float = 1800.0  # pull people out and tow: an assumption


@dataclass
class PeopleConfig:
    """People cut off in flooded homes and streets around a deep flooding point.

    When a point first reaches ``depth_m``, the residents living on the nodes
    under at least that depth (zone population spread evenly over the zone's
    nodes) make ``calls_per_1000`` rescue calls per 1,000 people, Poisson.
    Both numbers are assumptions (DOMAIN.md 3.1: moving water of 15 cm can knock
    a person over; 2016 Nanjing compounds flooded to 1.3 m), configurable.
    """

    depth_m: float = 0.5
    calls_per_1000: float = 0.5
    severity: int = 1
    run_card: dict[str, int] = field(default_factory=lambda: {"rescue": 1})
    on_scene_s: float = 2700.0  # wade or boat people out: an assumption


@dataclass
class PumpTruckConfig:
    count: int = 4  # 排涝车 placed round-robin at fire stations
    # 大流量排水抢险车 are rated ~1000-3000 m³/h [K]; 1000 m³/h, an assumption.
    rate_m3_s: float = 0.28
    turnout_s: float = 300.0
    severity: int = 3


@dataclass
class WaterloggingConfig:
    storm: StormConfig = field(default_factory=StormConfig)
    hydrology: HydrologyConfig = field(default_factory=HydrologyConfig)
    roads: RoadFloodConfig = field(default_factory=RoadFloodConfig)
    trapped: TrappedConfig = field(default_factory=TrappedConfig)
    people: PeopleConfig = field(default_factory=PeopleConfig)
    pumps: PumpTruckConfig = field(default_factory=PumpTruckConfig)
    # Also run the same day without rain into dry/ for the paired response-time
    # inflation (sim/flood_twin.py); one more engine run.
    dry_twin: bool = True


@dataclass
class EarlyWarningConfig:
    """Pre-position pump trucks and pre-close underpasses before the forecast peak.

    Triggers when the forecast (the scenario's hyetograph) peak intensity
    exceeds ``threshold_mm_h``; acts ``lead_s`` before the peak. Known
    hotspots are the points the forecast ponds deepest. Assumptions.
    """

    enabled: bool = False
    threshold_mm_h: float = 60.0
    lead_s: float = 3600.0
    close_underpasses: bool = True
    preposition_pumps: bool = True


# --------------------------------------------------------------- validation
def _err(key: str, msg: str) -> Exception:
    from sim.config import ConfigError

    return ConfigError(key, msg)


def _num(value: float, key: str, lo: float = 0.0, strict: bool = False) -> None:
    ok = math.isfinite(value) and (value > lo if strict else value >= lo)
    if not ok:
        raise _err(key, f"must be {'>' if strict else '>='} {lo:g} and finite (got {value!r})")


def validate_waterlogging(w: WaterloggingConfig, prefix: str = "scenario.waterlogging") -> None:
    s = w.storm
    if s.kind not in ("chicago", "csv"):
        raise _err(f"{prefix}.storm.kind", f"must be chicago or csv (got {s.kind!r})")
    _num(s.return_period_yr, f"{prefix}.storm.return_period_yr", strict=True)
    _num(s.duration_min, f"{prefix}.storm.duration_min", strict=True)
    if not (math.isfinite(s.peak_ratio) and 0.0 <= s.peak_ratio <= 1.0):
        raise _err(f"{prefix}.storm.peak_ratio", f"must be in [0, 1] (got {s.peak_ratio!r})")
    _num(s.idf_a1_mm_min, f"{prefix}.storm.idf_a1_mm_min", strict=True)
    _num(s.idf_c, f"{prefix}.storm.idf_c")
    _num(s.idf_b_min, f"{prefix}.storm.idf_b_min", strict=True)
    _num(s.idf_n, f"{prefix}.storm.idf_n", strict=True)
    _num(s.start_s, f"{prefix}.storm.start_s")
    if s.kind == "csv":
        if not s.csv_file:
            raise _err(f"{prefix}.storm.csv_file", "storm.kind is csv but no file is given")
        if not Path(s.csv_file).expanduser().is_file():
            raise _err(f"{prefix}.storm.csv_file", f"{s.csv_file}: no such file")
    h = w.hydrology
    _num(h.step_s, f"{prefix}.hydrology.step_s", strict=True)
    if not 0 < h.curve_number <= 100:
        raise _err(f"{prefix}.hydrology.curve_number", f"must be in (0, 100] (got {h.curve_number!r})")
    _num(h.design_return_period_yr, f"{prefix}.hydrology.design_return_period_yr", strict=True)
    _num(h.underpass_design_return_period_yr, f"{prefix}.hydrology.underpass_design_return_period_yr", strict=True)
    _num(h.concentration_min, f"{prefix}.hydrology.concentration_min", strict=True)
    _num(h.pipe_velocity_m_s, f"{prefix}.hydrology.pipe_velocity_m_s", strict=True)
    if not 0 <= h.runoff_coefficient <= 1:
        raise _err(f"{prefix}.hydrology.runoff_coefficient", "must be in [0, 1]")
    _num(h.underpass_area_m2, f"{prefix}.hydrology.underpass_area_m2", strict=True)
    _num(h.flood_point_depth_m, f"{prefix}.hydrology.flood_point_depth_m", strict=True)
    r = w.roads
    _num(r.car_limit_m, f"{prefix}.roads.car_limit_m", strict=True)
    if not (math.isfinite(r.emergency_limit_m) and r.emergency_limit_m >= r.car_limit_m):
        raise _err(f"{prefix}.roads.emergency_limit_m", "must be finite and >= roads.car_limit_m")
    _num(r.light_limit_m, f"{prefix}.roads.light_limit_m", strict=True)
    if len(set(r.light_kinds)) != len(r.light_kinds):
        raise _err(f"{prefix}.roads.light_kinds", "lists a unit kind twice")
    if not 0 < r.min_speed_share <= 1:
        raise _err(f"{prefix}.roads.min_speed_share", "must be in (0, 1]")
    _num(r.depth_step_m, f"{prefix}.roads.depth_step_m", strict=True)
    t = w.trapped
    _num(t.vehicles_per_h, f"{prefix}.trapped.vehicles_per_h")
    _num(t.exposure_h, f"{prefix}.trapped.exposure_h")
    _num(t.on_scene_s, f"{prefix}.trapped.on_scene_s")
    if len(t.hourly_share) != 24 or any(not (math.isfinite(x) and x >= 0) for x in t.hourly_share):
        raise _err(f"{prefix}.trapped.hourly_share", "needs 24 values >= 0, one per hour")
    if not t.run_card or sum(t.run_card.values()) <= 0:
        raise _err(f"{prefix}.trapped.run_card", "needs at least one unit")
    pe = w.people
    _num(pe.depth_m, f"{prefix}.people.depth_m", strict=True)
    _num(pe.calls_per_1000, f"{prefix}.people.calls_per_1000")
    _num(pe.on_scene_s, f"{prefix}.people.on_scene_s")
    if not pe.run_card or sum(pe.run_card.values()) <= 0:
        raise _err(f"{prefix}.people.run_card", "needs at least one unit")
    p = w.pumps
    if p.count < 0:
        raise _err(f"{prefix}.pumps.count", f"must be >= 0 (got {p.count})")
    _num(p.rate_m3_s, f"{prefix}.pumps.rate_m3_s", strict=True)
    _num(p.turnout_s, f"{prefix}.pumps.turnout_s")


def validate_early_warning(e: EarlyWarningConfig, prefix: str = "policy.early_warning") -> None:
    _num(e.threshold_mm_h, f"{prefix}.threshold_mm_h")
    _num(e.lead_s, f"{prefix}.lead_s")
