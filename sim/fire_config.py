"""Typed configuration of e-bike battery fires in high-rise homes.

Two schemas, kept out of :mod:`sim.config` so the fire model stays in its own
files: :class:`EbikeFireConfig` (the hazard: ``scenario.ebike_fire``) and
:class:`FireResponseConfig` (fire growth, smoke, evacuation and the response:
``policy.fire``). :func:`validate_fire` checks the values a type cannot
express and raises :class:`sim.config.ConfigError` naming the dotted key.

Sources are in ``/work/shared/DOMAIN.md`` §4 (e-bike fires) and §2 (response
standards); every number marked *assumption* is a modelling choice that a
user should vary, not a sourced fact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

__all__ = [
    "EbikeFireConfig",
    "FireResponseConfig",
    "FireSpec",
    "LOCATIONS",
    "validate_fire",
]

#: Where a battery charges or stands: in the flat, in the corridor or lobby of
#: a floor, in the ground-floor parking (架空层, garage) or at centralized
#: charging piles outside the building.
LOCATIONS = ("flat", "corridor", "parking", "piles")


@dataclass
class FireSpec:
    """An explicit ignition: building id, time, and where in the building."""

    building: str  # high-rise id, e.g. HR0001
    t_s: float
    location: str = "parking"  # flat | corridor | parking
    floor: int = 1  # origin floor for flat/corridor (parking is floor 1)
    shaft: bool = False  # smoke rises through a light/vent shaft (stack effect)
    modified: bool = False  # a modified / over-capacity battery
    # For a case replay: a stand-in for the building (floors, households), and
    # circumstances that are known rather than drawn. None: as the city / drawn.
    floors: int | None = None
    households: int | None = None
    alarm_works: bool | None = None
    report_after_s: float | None = None  # ignition to the call reaching dispatch
    case: str = ""  # a published case to report beside the model (analysis/fire.py CASES)


@dataclass
class EbikeFireConfig:
    # Explicit fires replace the random ignitions (a trainer's scenario).
    fires: list[FireSpec] = field(default_factory=list)
    # E-bikes per household: China's fleet of ~400 million (DOMAIN.md 4.2,
    # 国家消防救援局 2024-05-30) over the 2020 census's ~494 million family
    # households (家庭户) is ~0.8; configurable.
    ebikes_per_household: float = 0.8
    # Where charging sessions happen (shares summing to 1): assumptions.
    charging_share: dict[str, float] = field(
        default_factory=lambda: {"flat": 0.30, "corridor": 0.10, "parking": 0.30, "piles": 0.30}
    )
    # Charging sessions per e-bike per day (assumption: most bikes charge
    # nightly or every other night).
    sessions_per_day: float = 0.7
    # National e-bike fires per e-bike per year: 10,051 fires in 1 Jan-20 May
    # 2024 (141 days) with a fleet of ~400 million (DOMAIN.md 4.2) is
    # 10,051 * 365.25 / 141 / 4e8 = 6.5e-5.
    national_fires_per_ebike_yr: float = 6.5e-5
    # Share of e-bike fires that start while charging or parked (not riding), taken as the share
    # that can start at home: Beijing Jan 2025, 4 of 21 while charging and 5 of 21 parked
    # (9/21 = 0.43; DOMAIN.md 4.2). That sample was all outdoor fires, so using its
    # charging-or-parked share for homes is an assumption; a small winter sample, configurable.
    home_share_of_fires: float = 0.43
    # Modified / over-capacity batteries (违规改装, 超标大容量: the 2·23 cause):
    # share of bikes with one and their rate relative to a standard battery.
    # Both are assumptions; the mean rate per session stays calibrated.
    modified_share: float = 0.1  # in this city
    modified_share_national: float = 0.1  # behind the national rate (calibration)
    modified_multiplier: float = 5.0
    # Relative ignition intensity by hour of day (24 values, mean 1): a
    # night-time charging peak (assumption: bikes are plugged in after the
    # evening commute and charge overnight).
    hourly_profile: list[float] = field(
        default_factory=lambda: [
            1.6, 1.5, 1.4, 1.2, 1.0, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.6,
            0.6, 0.6, 0.6, 0.6, 0.7, 0.8, 1.0, 1.3, 1.6, 1.8, 1.9, 1.8,
        ]
    )
    # The default district expects ~0.0055 high-rise fires a day (~2 a year):
    # scale the rate for a stress scenario, and/or force at least min_fires
    # (extra fires drawn in proportion to the rate).
    rate_multiplier: float = 1.0
    min_fires: int = 1
    # Smoke rises via a light/vent shaft (采光通风天井) rather than the stair
    # with this probability per fire (assumption; 1 in the 2·23 replay).
    shaft_share: float = 0.2


@dataclass
class FireResponseConfig:
    # --- growth (DOMAIN.md 4.4): ultrafast t² after a venting delay.
    alpha_kw_s2: float = 0.1876  # NFPA 204/72 ultrafast
    vent_delay_s: float = 30.0  # off-gassing before flaming onset (Hangzhou 2015: flame at 30 s)
    bike_peak_kw: float = 1000.0  # ~1 MW per two-wheeler (Chen et al. 2005)
    parking_bikes_involved: int = 3  # a parked cluster ignites its neighbours (assumption)
    untenable_kw: float = 500.0  # HRR at which the origin space is untenable (assumption; FSRI: a room to flashover in < 60 s)
    # --- smoke spread (assumptions; the Hainan test: upper floors in 5 min, stack effect).
    floor_height_m: float = 3.0
    smoke_stair_m_s: float = 0.5  # vertical smoke front in a stairwell
    smoke_shaft_m_s: float = 1.5  # in a light/vent shaft (stack effect)
    floor_fill_s: float = 60.0  # from the smoke front reaching a floor to the floor untenable
    flat_door_open_share: float = 0.5  # a flat fire reaches the corridor and stair
    knockdown_s: float = 180.0  # first water to spread stopped
    # Smoke in a light/vent shaft banks in the upper floors (stack effect): the
    # top share of floors is affected. 2·23: marks on floors 21-34 of 34 (DOMAIN.md 4.1).
    shaft_affected_share: float = 0.4
    # --- detection and call.
    alarm_working_prob: float = 0.5  # assumption; in the 2·23 fire the alarms did not work
    alarm_working_prob_maintained: float = 0.95  # with alarm_maintenance (assumption)
    alarm_detect_s: float = 30.0  # smoke alarm after flaming onset (assumption)
    discovery_median_s: float = 240.0  # no alarm: 4 min discovery (the 15-minute rule, DOMAIN.md 2.3)
    call_delay_median_s: float = 90.0  # discovery to the call reaching 119 (assumption)
    # --- occupants and evacuation.
    household_size: float = 2.62  # 2020 census
    at_home_night: float = 0.95  # 22:00-07:00 (assumption)
    at_home_day: float = 0.5  # (assumption)
    premovement_alarm_s: float = 120.0  # alarm to moving (assumption)
    premovement_no_alarm_s: float = 300.0  # discovery to neighbours warned and moving (assumption)
    stair_m_per_floor: float = 8.0  # walking distance along the stair per storey (assumption)
    stair_speed_m_s: float = 0.5  # 0.4-0.7 m/s in drills (DOMAIN.md 4.4)
    smoke_speed_factor: float = 0.5  # slower in smoke (assumption)
    shelter_share: float = 0.3  # stay behind closed doors (assumption)
    shelter_fail_stair: float = 0.03  # a closed door holds (Hainan test) except rarely (assumption)
    shelter_fail_shaft: float = 0.1  # smoke and fire enter by windows from a shaft (2·23; assumption)
    # Probability of dying per second of exposure: p = 1 - exp(-t / tau) (assumption, coarse).
    fatal_tau_s: float = 1800.0
    search_s_per_floor: float = 60.0  # search and rescue after first water (assumption)
    # --- response.
    setup_s: float = 210.0  # 战斗展开至出水: 3 min 30 s (DOMAIN.md 2.3)
    relay_s: float = 600.0  # no pressure in the building: relay pumping up the stair (assumption)
    no_water_share: float = 0.15  # high-rises whose fire-water system is dry (the seed's 无水高层; assumption)
    no_water_share_monitored: float = 0.03  # with pressure_monitoring (assumption)
    second_alarm_floors: int = 3  # untenable floors at first arrival that call a second alarm
    second_alarm: dict[str, int] = field(default_factory=lambda: {"engine": 2, "rescue": 1})
    # --- interventions (flags in policy.interventions; their parameters here).
    piles_moved_share: float = 0.6  # charging_piles: share of in-building charging moved to piles (assumption)
    sprinkler_cap_kw: float = 300.0  # sprinklers: growth capped (FSRI: sprinklers control; cap an assumption)
    sprinkler_fail_prob: float = 0.1  # assumption
    street_response_s: float = 180.0  # street teams: the "135" rule's 3-min tier (joint teams; DOMAIN.md 2.3)
    street_setup_s: float = 120.0  # a small team's line from the building's hydrant (assumption)


def _check(cond: bool, key: str, message: str) -> None:
    if not cond:
        from sim.config import ConfigError

        raise ConfigError(key, message)


def _walk(obj: Any, prefix: str) -> None:
    if is_dataclass(obj):
        for f in fields(obj):
            _walk(getattr(obj, f.name), f"{prefix}.{f.name}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _walk(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk(v, f"{prefix}[{i}]")
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        _check(math.isfinite(obj) and obj >= 0, prefix, f"must be >= 0 and finite (got {obj!r})")


_PROBS = (
    "flat_door_open_share", "alarm_working_prob", "alarm_working_prob_maintained", "at_home_night",
    "at_home_day", "shelter_share", "shelter_fail_stair", "shelter_fail_shaft", "no_water_share",
    "no_water_share_monitored", "piles_moved_share", "sprinkler_fail_prob", "shaft_affected_share",
)


def validate_fire(e: EbikeFireConfig, r: FireResponseConfig, horizon_s: float) -> None:
    """Raise ConfigError naming the key of the first bad value."""
    _walk(e, "scenario.ebike_fire")
    _walk(r, "policy.fire")
    p = "scenario.ebike_fire"
    for loc in e.charging_share:
        _check(loc in LOCATIONS, f"{p}.charging_share.{loc}", f"unknown location; known: {', '.join(LOCATIONS)}")
    for loc, v in e.charging_share.items():
        _check(v <= 1, f"{p}.charging_share.{loc}", f"a share must be in [0, 1] (got {v})")
    _check(abs(sum(e.charging_share.values()) - 1) < 1e-6, f"{p}.charging_share", "shares must add up to 1")
    for key in ("home_share_of_fires", "modified_share", "modified_share_national", "shaft_share"):
        _check(getattr(e, key) <= 1, f"{p}.{key}", f"must be in [0, 1] (got {getattr(e, key)})")
    _check(len(e.hourly_profile) == 24, f"{p}.hourly_profile", f"needs 24 values (got {len(e.hourly_profile)})")
    _check(sum(e.hourly_profile) > 0, f"{p}.hourly_profile", "must not be all zero")
    for i, f in enumerate(e.fires):
        _check(f.location in LOCATIONS[:3], f"{p}.fires[{i}].location",
               f"must be one of flat, corridor, parking (got {f.location!r})")
        _check(f.t_s < horizon_s, f"{p}.fires[{i}].t_s", f"after the horizon run.horizon_s={horizon_s}")
        _check(f.floor >= 1, f"{p}.fires[{i}].floor", f"must be >= 1 (got {f.floor})")
        _check(f.floors is None or f.floors >= 2, f"{p}.fires[{i}].floors", f"must be >= 2 (got {f.floors})")
        _check(f.households is None or f.households >= 1, f"{p}.fires[{i}].households",
               f"must be >= 1 (got {f.households})")
    for key in _PROBS:
        _check(getattr(r, key) <= 1, f"policy.fire.{key}", f"must be in [0, 1] (got {getattr(r, key)})")
    for key in ("alpha_kw_s2", "bike_peak_kw", "untenable_kw", "floor_height_m", "smoke_stair_m_s",
                "smoke_shaft_m_s", "stair_speed_m_s", "smoke_speed_factor", "fatal_tau_s", "household_size"):
        _check(getattr(r, key) > 0, f"policy.fire.{key}", f"must be > 0 (got {getattr(r, key)})")
