"""Typed configuration: the dataclass schemas behind ``conf/``.

Hydra composes ``conf/*.yaml`` against these schemas (registered in Hydra's
ConfigStore by :func:`register_configs`), so a typo or a wrong type fails
before anything runs, naming the key. The CLI converts the composed config once
with ``OmegaConf.to_object``; everything below the entry point receives these
dataclasses and stays importable without Hydra.

Value checks that a type cannot express (a negative rate, a station on a node
that does not exist) live in :func:`validate`, which raises
:class:`ConfigError` naming the dotted key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

__all__ = [
    "AmbulanceConfig",
    "BackgroundCallsConfig",
    "CityConfig",
    "Config",
    "ConfigError",
    "DispatchConfig",
    "ElevationConfig",
    "FireConfig",
    "PipeBurstConfig",
    "PolicyConfig",
    "RiverConfig",
    "RunConfig",
    "ScenarioConfig",
    "StandardsConfig",
    "WaterConfig",
    "register_configs",
    "validate",
]


class ConfigError(ValueError):
    """A configuration value is out of range; ``key`` is its dotted name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


# --------------------------------------------------------------------- city
@dataclass
class RiverConfig:
    enabled: bool = True
    width_m: float = 250.0  # a Qinhuai-sized urban river, not the Yangtze
    position: float = 0.55  # fraction of the district's height where it runs
    n_bridges: int = 3
    n_tunnels: int = 1


@dataclass
class ElevationConfig:
    base_m: float = 12.0  # Nanjing's old city lies roughly 8-20 m above sea level
    relief_m: float = 6.0  # amplitude of the smooth terrain
    n_basins: int = 8  # low-lying basins (易涝点 candidates)
    basin_depth_m: float = 3.0
    basin_radius_m: float = 400.0


@dataclass
class FireConfig:
    # GB 51080-2015 §4.1.3: reach the district edge within 5 min of dispatch.
    coverage_s: float = 300.0
    coverage_target: float = 0.9  # share of nodes covered before siting stops
    max_stations: int = 20
    # Candidate sites tried by the greedy siting (every k-th arterial node); a
    # metropolis needs more than a district to keep stations evenly spread.
    n_candidates: int = 250
    # Explicit station nodes; when set, the automatic siting is skipped.
    station_nodes: list[int] | None = None
    engines_per_station: int = 2
    ladders_per_station: int = 1
    rescue_per_station: int = 1
    turnout_s: float = 60.0  # 建标152 drills: 45 s summer, 60 s winter


@dataclass
class AmbulanceConfig:
    people_per_ambulance: int = 30000  # Beijing/Shanghai planning ratio
    n_stations: int = 6
    station_nodes: list[int] | None = None
    turnout_s: float = 60.0  # NFPA 1710 EMS turnout target


@dataclass
class WaterConfig:
    n_depots: int = 1
    n_plants: int = 2  # treatment plants, alternating between the west and east edges
    crews_per_depot: int = 4
    turnout_s: float = 600.0  # a utility crew loads its truck: assumption
    valve_spacing_links: int = 3  # one valve per ~3 blocks of main
    # Mix of main materials (share) and install years: illustrative.
    materials: dict[str, float] = field(
        default_factory=lambda: {"CI": 0.25, "DI": 0.45, "PE": 0.2, "steel": 0.1}
    )
    install_year_min: int = 1960
    install_year_max: int = 2020


@dataclass
class CityConfig:
    kind: str = "district"
    name: str = "Gulou-like district"
    width_km: float = 8.0
    height_km: float = 7.0
    population: int = 750000
    household_size: float = 2.62  # China 7th census (2020) mean household size
    n_zones: int = 12
    block_m: float = 160.0  # local street spacing
    arterial_every: int = 5  # every 5th street is an arterial (~800 m)
    n_expressways: int = 1  # north-south expressways
    n_expressways_ew: int = 0  # east-west expressways (with interchanges where they cross)
    n_districts: int = 1  # administrative districts (区) grouping the zones
    n_underpasses: int = 6
    highrise_share: float = 0.45  # share of households in high-rise blocks
    highrise_households: int = 120  # households per high-rise block
    speed_kmh: dict[str, float] = field(
        default_factory=lambda: {"expressway": 60.0, "arterial": 40.0, "local": 25.0}
    )
    river: RiverConfig = field(default_factory=RiverConfig)
    elevation: ElevationConfig = field(default_factory=ElevationConfig)
    fire: FireConfig = field(default_factory=FireConfig)
    ambulance: AmbulanceConfig = field(default_factory=AmbulanceConfig)
    water: WaterConfig = field(default_factory=WaterConfig)
    # city=from_files (sim/loaders): networks read from files; see conf/city/from_files.yaml.
    roads_file: str | None = None  # OSMnx GraphML or TNTP *_net.tntp
    roads_format: str = "auto"  # auto (by file name) | graphml | tntp
    roads_nodes_file: str | None = None  # TNTP node coordinates (*_node.tntp or GeoJSON); found if null
    roads_length_unit: str = "auto"  # auto | m | km | ft | mi
    roads_xy_unit: str = "auto"  # auto | deg | m | km | ft | mi
    roads_speed: str = "class"  # class (speed_kmh by road class) | file | min (the lower of the two)
    roads_components: str = "auto"  # auto | largest | error: what to do with a road graph in pieces
    roads_drop_centroids: bool = False  # TNTP: drop zone centroids and their connectors
    water_file: str | None = None  # EPANET .inp
    water_align: str = "auto"  # auto | none | bbox: how the water network's coordinates meet the roads'
    water_valves: str = "strategic"  # strategic (the file's valves + N-1 at junctions) | file
    water_m3_per_customer_day: float = 0.5  # demand of one customer account (household)


# ----------------------------------------------------------------- scenario
@dataclass
class BurstSpec:
    pipe: str  # pipe id, e.g. "P17"
    t_s: float


@dataclass
class PipeBurstConfig:
    # Either an explicit list of bursts ...
    bursts: list[BurstSpec] = field(default_factory=list)
    # ... or random breaks at a rate per 100 km per year by material.
    # NRC Canada via a secondary source (DOMAIN.md 5.1): CI 35.9, DI 9.5, AC 5.8,
    # PVC 0.7 breaks/(100 km yr); PE and steel are assumptions.
    rate_per_100km_yr: dict[str, float] = field(
        default_factory=lambda: {"CI": 35.9, "DI": 9.5, "AC": 5.8, "PVC": 0.7, "PE": 1.0, "steel": 10.0}
    )
    age_factor_per_yr: float = 0.02  # exp(A*age), A in 0.02-0.05/yr [K]
    reference_year: int = 2026
    # Multiplier on the rates: a stress event (freeze, pressure surge) makes
    # breaks cluster; 1.0 is the everyday rate.
    rate_multiplier: float = 1.0
    # At least this many breaks happen (the largest-hazard pipes first): a
    # scenario with no burst would not exercise the response.
    min_bursts: int = 1
    window_start_s: float = 3600.0
    window_end_s: float = 21600.0


@dataclass
class ScenarioConfig:
    name: str = "none"
    pipe_burst: PipeBurstConfig = field(default_factory=PipeBurstConfig)


@dataclass
class BackgroundCallsConfig:
    """Everyday calls as a Poisson process with a time-of-day profile.

    Rates are per 1,000 residents per day. Medical: Shanghai's ~1 million 120
    dispatches a year for ~24 million people is ~0.11 (order of magnitude [K]);
    fire and rescue: China's fire brigades answer ~1.3 million calls a year for
    1.4 billion people, ~0.0025 each [K]. Illustrative and configurable.
    """

    enabled: bool = True
    per_1000_per_day: dict[str, float] = field(
        default_factory=lambda: {"medical": 0.11, "fire": 0.004, "rescue": 0.004}
    )
    # Relative intensity by hour of day (24 values, mean 1): calls peak by day.
    hourly_profile: list[float] = field(
        default_factory=lambda: [
            0.55, 0.45, 0.40, 0.38, 0.40, 0.50, 0.75, 1.00, 1.15, 1.20, 1.20, 1.20,
            1.20, 1.15, 1.15, 1.20, 1.25, 1.30, 1.30, 1.25, 1.15, 1.00, 0.85, 0.67,
        ]
    )


# ------------------------------------------------------------------- policy
@dataclass
class ServiceTime:
    """An on-scene or repair duration: lognormal by median and sigma, or exponential."""

    dist: str = "lognormal"  # lognormal | exponential | fixed
    median_s: float = 1800.0
    sigma: float = 0.5
    mean_s: float = 1800.0  # used by exponential


@dataclass
class DispatchConfig:
    rule: str = "nearest"  # nearest available capable unit by current travel time
    # Call processing (answer + process): NFPA 1225 targets 60 s for 90 %.
    call_processing: ServiceTime = field(
        default_factory=lambda: ServiceTime(dist="lognormal", median_s=60.0, sigma=0.4)
    )
    # Run cards: incident type -> {unit kind: count}.
    run_cards: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            "fire": {"engine": 2, "ladder": 1},
            "rescue": {"rescue": 1, "engine": 1},
            "medical": {"ambulance": 1},
            "water_main_break": {"water_crew": 1},
        }
    )
    on_scene: dict[str, ServiceTime] = field(
        default_factory=lambda: {
            "fire": ServiceTime(median_s=2700.0, sigma=0.6),
            "rescue": ServiceTime(median_s=1800.0, sigma=0.6),
            "medical": ServiceTime(median_s=2400.0, sigma=0.4),  # incl. transport
            "water_main_break": ServiceTime(median_s=1200.0, sigma=0.3),  # isolate
        }
    )
    severity: dict[str, int] = field(
        default_factory=lambda: {"fire": 1, "rescue": 1, "medical": 2, "water_main_break": 3}
    )
    # Units clear at the scene and may be re-tasked while returning.
    retask_returning: bool = True


@dataclass
class DetectionConfig:
    """Delay from a main break to the utility knowing of it."""

    # Customer calls for a surfacing break: tens of minutes (DOMAIN.md 5.1: minutes
    # when it surfaces); an assumption, configurable.
    customer_calls: ServiceTime = field(
        default_factory=lambda: ServiceTime(dist="lognormal", median_s=2400.0, sigma=0.6)
    )
    # Pressure monitoring (the seed's 1.1万余套高层水压监测): a pressure drop
    # alarm within minutes; an assumption.
    pressure_monitoring: ServiceTime = field(
        default_factory=lambda: ServiceTime(dist="lognormal", median_s=300.0, sigma=0.4)
    )


@dataclass
class RepairConfig:
    # DOMAIN.md 5.1 [K, assumption]: lognormal outage, median ~4-8 h for mains
    # under 300 mm and ~12-48 h for larger mains.
    small: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=6 * 3600.0, sigma=0.4))
    large: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=72000.0, sigma=0.5))
    large_diameter_mm: float = 300.0
    # Probability that a valve cannot be closed (Jun 2005 segment theory;
    # 0.1-0.2 is an assumption in DOMAIN.md).
    valve_fail_prob: float = 0.1


@dataclass
class InterventionsConfig:
    pressure_monitoring: bool = False


@dataclass
class PolicyConfig:
    name: str = "baseline"
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    repair: RepairConfig = field(default_factory=RepairConfig)
    interventions: InterventionsConfig = field(default_factory=InterventionsConfig)


# ---------------------------------------------------------------------- run
@dataclass
class StandardsConfig:
    # GB 51080-2015 §4.1.3: arrive within 5 min of the dispatch order.
    gb51080_dispatch_to_arrival_s: float = 300.0
    # NFPA 1710: turnout 80 s (fire) / 60 s (EMS), travel 240 s, at the 90th percentile.
    nfpa1710_turnout_fire_s: float = 80.0
    nfpa1710_turnout_ems_s: float = 60.0
    nfpa1710_travel_s: float = 240.0
    fractile: float = 0.9


@dataclass
class RunConfig:
    horizon_s: float = 86400.0
    start: str = "2026-07-15T06:00:00"  # ISO local time of t_s = 0
    timezone: str = "Asia/Shanghai"
    report: bool = True


@dataclass
class Config:
    seed: int = 0
    city: CityConfig = field(default_factory=CityConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    calls: BackgroundCallsConfig = field(default_factory=BackgroundCallsConfig)
    standards: StandardsConfig = field(default_factory=StandardsConfig)
    run: RunConfig = field(default_factory=RunConfig)


# --------------------------------------------------------------- validation
_DISTS = ("lognormal", "exponential", "fixed")


def _check(cond: bool, key: str, message: str) -> None:
    if not cond:
        raise ConfigError(key, message)


def _positive(value: float, key: str, *, strict: bool = True) -> None:
    ok = value > 0 if strict else value >= 0
    _check(
        ok and math.isfinite(value),
        key,
        f"must be {'> 0' if strict else '>= 0'} and finite (got {value!r})",
    )


def _check_service_time(st: ServiceTime, key: str) -> None:
    _check(st.dist in _DISTS, f"{key}.dist", f"must be one of {', '.join(_DISTS)} (got {st.dist!r})")
    _positive(st.median_s, f"{key}.median_s", strict=False)
    _positive(st.mean_s, f"{key}.mean_s", strict=False)
    _positive(st.sigma, f"{key}.sigma", strict=False)


def _walk_numbers(obj: Any, prefix: str) -> None:
    """Every number under a config section must be finite and >= 0 unless noted."""
    if is_dataclass(obj):
        for f in fields(obj):
            _walk_numbers(getattr(obj, f.name), f"{prefix}.{f.name}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _walk_numbers(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_numbers(v, f"{prefix}[{i}]")
    elif isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return
    elif isinstance(obj, (int, float)):
        _positive(float(obj), prefix, strict=False)


def validate(cfg: Config) -> Config:
    """Check values a type cannot express; raise ConfigError naming the key."""
    from sim.registry import CITY_KINDS, SCENARIOS

    _check(cfg.seed >= 0, "seed", f"must be >= 0 (got {cfg.seed})")
    _positive(cfg.run.horizon_s, "run.horizon_s")
    try:
        from datetime import datetime

        datetime.fromisoformat(cfg.run.start)
    except ValueError:
        raise ConfigError("run.start", f"not an ISO date-time (got {cfg.run.start!r})") from None
    _check(
        cfg.city.kind in CITY_KINDS,
        "city.kind",
        f"must be one of {', '.join(sorted(CITY_KINDS))} (got {cfg.city.kind!r})",
    )
    _check(
        cfg.scenario.name in SCENARIOS,
        "scenario.name",
        f"must be one of {', '.join(sorted(SCENARIOS))} (got {cfg.scenario.name!r})",
    )
    for section in ("city", "calls", "policy", "standards", "run"):
        _walk_numbers(getattr(cfg, section), section)
    _walk_numbers(cfg.scenario.pipe_burst, "scenario.pipe_burst")
    c = cfg.city
    for key in ("width_km", "height_km", "block_m", "household_size"):
        _positive(getattr(c, key), f"city.{key}")
    _check(c.population > 0, "city.population", f"must be > 0 (got {c.population})")
    _check(c.n_zones >= 1, "city.n_zones", f"must be >= 1 (got {c.n_zones})")
    _check(1 <= c.n_districts <= c.n_zones, "city.n_districts",
           f"must be in 1..city.n_zones={c.n_zones} (got {c.n_districts})")
    _check(c.fire.n_candidates >= 1, "city.fire.n_candidates", f"must be >= 1 (got {c.fire.n_candidates})")
    _check(c.water.n_plants >= 1, "city.water.n_plants", f"must be >= 1 (got {c.water.n_plants})")
    _check(0 <= c.highrise_share <= 1, "city.highrise_share", "must be in [0, 1]")
    _check(c.arterial_every >= 1, "city.arterial_every", "must be >= 1")
    _check(0 < c.river.position < 1, "city.river.position", "must be in (0, 1)")
    for cls in ("expressway", "arterial", "local"):
        _check(cls in c.speed_kmh, "city.speed_kmh", f"missing the class {cls!r}")
        _positive(c.speed_kmh[cls], f"city.speed_kmh.{cls}")
    _check(abs(sum(c.water.materials.values()) - 1.0) < 1e-6, "city.water.materials",
           "shares must add up to 1")
    _validate_files(c)
    _check(len(cfg.calls.hourly_profile) == 24, "calls.hourly_profile",
           f"needs 24 values, one per hour (got {len(cfg.calls.hourly_profile)})")
    _check(sum(cfg.calls.hourly_profile) > 0, "calls.hourly_profile", "must not be all zero")
    d = cfg.policy.dispatch
    _check(d.rule in ("nearest",), "policy.dispatch.rule", f"must be one of nearest (got {d.rule!r})")
    _check_service_time(d.call_processing, "policy.dispatch.call_processing")
    for kind, st in d.on_scene.items():
        _check_service_time(st, f"policy.dispatch.on_scene.{kind}")
    for kind, card in d.run_cards.items():
        _check(sum(card.values()) > 0, f"policy.dispatch.run_cards.{kind}", "needs at least one unit")
        _check(kind in d.on_scene, f"policy.dispatch.on_scene.{kind}",
               f"missing: run card {kind!r} has no on-scene time")
        _check(kind in d.severity, f"policy.dispatch.severity.{kind}",
               f"missing: run card {kind!r} has no severity")
    for kind in cfg.calls.per_1000_per_day:
        _check(kind in d.run_cards, f"calls.per_1000_per_day.{kind}",
               f"no run card for this call type; known: {', '.join(sorted(d.run_cards))}")
    r = cfg.policy.repair
    _check(0 <= r.valve_fail_prob < 1, "policy.repair.valve_fail_prob", "must be in [0, 1)")
    _check_service_time(r.small, "policy.repair.small")
    _check_service_time(r.large, "policy.repair.large")
    _check_service_time(cfg.policy.detection.customer_calls, "policy.detection.customer_calls")
    _check_service_time(cfg.policy.detection.pressure_monitoring, "policy.detection.pressure_monitoring")
    pb = cfg.scenario.pipe_burst
    _check(pb.window_end_s >= pb.window_start_s, "scenario.pipe_burst.window_end_s",
           "must be >= window_start_s")
    for i, b in enumerate(pb.bursts):
        _check(b.t_s < cfg.run.horizon_s, f"scenario.pipe_burst.bursts[{i}].t_s",
               f"after the horizon run.horizon_s={cfg.run.horizon_s}")
    s = cfg.standards
    _check(0 < s.fractile < 1, "standards.fractile", "must be in (0, 1)")
    return cfg


_FILE_CHOICES: dict[str, tuple[str, ...]] = {
    "roads_format": ("auto", "graphml", "tntp"),
    "roads_length_unit": ("auto", "m", "km", "ft", "mi"),
    "roads_xy_unit": ("auto", "deg", "m", "km", "ft", "mi"),
    "roads_speed": ("class", "file", "min"),
    "roads_components": ("auto", "largest", "error"),
    "water_align": ("auto", "none", "bbox"),
    "water_valves": ("strategic", "file"),
}


def _validate_files(c: CityConfig) -> None:
    """The options of ``city=from_files``: choices, and that the named files exist."""
    from pathlib import Path

    for name, choices in _FILE_CHOICES.items():
        value = getattr(c, name)
        _check(value in choices, f"city.{name}", f"must be one of {', '.join(choices)} (got {value!r})")
    _positive(c.water_m3_per_customer_day, "city.water_m3_per_customer_day")
    for name in ("roads_file", "roads_nodes_file", "water_file"):
        value = getattr(c, name)
        if value is None:
            continue
        _check(c.kind == "from_files", f"city.{name}",
               f"is set but city.kind is {c.kind!r}; files are read by city=from_files")
        path = Path(value).expanduser()
        _check(bool(value.strip()), f"city.{name}", "is empty; give a path or null")
        _check(path.exists(), f"city.{name}", f"{path}: no such file")
        _check(path.is_file(), f"city.{name}", f"{path}: not a file")


def register_configs() -> None:
    """Register the schemas in Hydra's ConfigStore (called by the CLI)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
