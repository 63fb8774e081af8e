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

from sim.fire_config import EbikeFireConfig, FireResponseConfig, validate_fire
from sim.flood_config import (
    EarlyWarningConfig,
    WaterloggingConfig,
    validate_early_warning,
    validate_waterlogging,
)

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
    turnout_s: float = 60.0  # station drill practice: 45 s summer, 60 s winter (news sources, DOMAIN.md 2.3)


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
    # Isolation valves (sim/district_water.py): a valve at each local junction pipe end with
    # probability 1/valve_spacing_links and at each arterial one with valve_arterial_share.
    # The defaults are an assumption of a sparse, older network (length-weighted mean segment
    # ~4.5 km in the default district); the Ten States Standards' <=152-244 m (DOMAIN.md 5.1)
    # is about valve_spacing_links=1, valve_arterial_share=1 (mean segment ~0.2 km); but customers
    # sit at junctions, so a pipe shut between two valves then cuts nobody off (a limitation).
    valve_spacing_links: int = 3
    valve_arterial_share: float = 0.6
    # Mix of main materials (share) and install years: illustrative.
    materials: dict[str, float] = field(
        default_factory=lambda: {"CI": 0.25, "DI": 0.45, "PE": 0.2, "steel": 0.1}
    )
    install_year_min: int = 1960
    install_year_max: int = 2020


@dataclass
class PowerConfig:
    """The generated power grid, hospitals, pump stations and the crews that restore them.

    Sizes are illustrative for a central district (assumptions, configurable):
    a 110 kV substation serves of the order of 100,000-200,000 people in a
    dense Chinese city; one 10 kV feeder group per street-level zone.
    """

    enabled: bool = True
    people_per_substation: int = 150000
    substation_nodes: list[int] | None = None  # explicit sites (road nodes); replaces the automatic siting
    # A substation's equipment sits this high above the ground at its site
    # (flood threshold, DOMAIN.md 3.6: Sandy's East 14th St was designed for a
    # 12.5 ft surge; Chinese indoor substations raise the floor ~0.3-0.6 m). Assumption.
    flood_threshold_m: float = 0.5
    # Booster pump stations lift the highest nodes of the water network
    # (pressure zones); nodes above this elevation quantile are lifted.
    pressure_zone_quantile: float = 0.85
    n_hospitals: int = 3
    hospital_backup_h: float = 8.0  # fuel for the backup generators (assumption)
    n_power_depots: int = 1
    crews_per_power_depot: int = 3
    power_turnout_s: float = 900.0  # a utility crew leaves its depot (assumption)
    # 96333-style elevator emergency service (the seed document): the platform
    # sends the maintenance contractors' technicians; pooled here as centres.
    n_elevator_centres: int = 3
    techs_per_elevator_centre: int = 6
    elevator_turnout_s: float = 300.0


@dataclass
class GasConfig:
    """The generated gas network: gate stations, mains under the streets, shut-off valves.

    Shares are illustrative for a Chinese central district (assumptions): most
    households have piped natural gas; a few percent (old lanes, street food)
    still use bottled LPG, a separate risk population with no network."""

    enabled: bool = True
    piped_share: float = 0.85  # households on piped gas
    lpg_share: float = 0.04  # households and shops on bottled LPG
    valve_spacing_links: int = 3
    materials: dict[str, float] = field(default_factory=lambda: {"PE": 0.6, "steel": 0.3, "CI": 0.1})
    install_year_min: int = 1980
    install_year_max: int = 2022
    n_depots: int = 1
    crews_per_depot: int = 4
    turnout_s: float = 600.0


@dataclass
class CityConfig:
    kind: str = "district"
    name: str = "Gulou-like district"
    # The seed the city is drawn from (its `city` stream). null: the run's own `seed`, so a
    # seed sweep samples a new city with each day; an integer pins one city while the
    # hazards and calls still follow `seed`.
    seed: int | None = None
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
    power: PowerConfig = field(default_factory=PowerConfig)
    gas: GasConfig = field(default_factory=GasConfig)
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
class FaultSpec:
    component: str  # power.substation.S1 or power.feeder.F03
    t_s: float


@dataclass
class PowerOutageConfig:
    """Substation and feeder faults (scenarios/power_outage.py).

    An explicit list, or random faults: per component per year, equipment
    faults of the order of 0.01-0.05 per substation and 0.1-0.3 per 10 kV
    feeder (assumptions; configurable), scaled by ``rate_multiplier`` for a
    stress day (storm, heat wave)."""

    faults: list[FaultSpec] = field(default_factory=list)
    substation_rate_per_yr: float = 0.03
    feeder_rate_per_yr: float = 0.2
    rate_multiplier: float = 1.0
    min_faults: int = 1  # at least this many (substations first): the scenario exercises the cascade
    window_start_s: float = 3600.0
    window_end_s: float = 21600.0


@dataclass
class LeakSpec:
    t_s: float
    pipe: str | None = None  # a gas main, e.g. "G120"; or
    zone: str | None = None  # a zone for a bottled-LPG leak
    cause: str = "excavation"  # excavation | corrosion | lpg


@dataclass
class GasLeakConfig:
    """Gas leaks (scenarios/gas_leak.py): on mains (third-party excavation and
    corrosion, per 100 km per year) and at bottled-LPG users (per 10,000 users
    per year). Rates are assumptions of the order utilities report; configurable."""

    leaks: list[LeakSpec] = field(default_factory=list)
    excavation_per_100km_yr: float = 3.0
    corrosion_per_100km_yr: float = 1.0
    lpg_per_10k_yr: float = 2.0
    rate_multiplier: float = 1.0
    min_leaks: int = 1  # at least this many main leaks: the scenario exercises shut-off and relighting
    window_start_s: float = 3600.0
    window_end_s: float = 21600.0


@dataclass
class ScenarioConfig:
    name: str = "none"
    parts: list[str] = field(default_factory=list)  # name=compound: the scenarios that happen together
    pipe_burst: PipeBurstConfig = field(default_factory=PipeBurstConfig)
    power_outage: PowerOutageConfig = field(default_factory=PowerOutageConfig)
    gas_leak: GasLeakConfig = field(default_factory=GasLeakConfig)
    ebike_fire: EbikeFireConfig = field(default_factory=EbikeFireConfig)  # sim/fire_config.py
    waterlogging: WaterloggingConfig = field(default_factory=WaterloggingConfig)  # sim/flood_config.py


@dataclass
class BackgroundCallsConfig:
    """Everyday calls as a Poisson process with a time-of-day profile.

    Rates are per 1,000 residents per day. Medical: Shanghai's ~1 million 120
    dispatches a year for ~24 million people is ~0.11 (order of magnitude [K]);
    fire and rescue: China's fire brigades answer ~1.3 million calls a year for
    1.4 billion people, ~0.0025 in all [K]; a dense central district sees more,
    so 0.004 each (fire, rescue) is an assumption above the national mean.
    Illustrative and configurable.
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
    # Call processing (answer + process), median 60 s: an assumption. NFPA 1225 asks for 60 s at
    # the 90th percentile; with sigma 0.4 about half the calls meet that (set median_s ~36 s to meet it).
    call_processing: ServiceTime = field(
        default_factory=lambda: ServiceTime(dist="lognormal", median_s=60.0, sigma=0.4)
    )
    # Run cards: incident type -> {unit kind: count}.
    run_cards: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            "fire": {"engine": 2, "ladder": 1},
            "highrise_fire": {"engine": 3, "ladder": 1, "rescue": 1},
            "rescue": {"rescue": 1, "engine": 1},
            "medical": {"ambulance": 1},
            "water_main_break": {"water_crew": 1},
            "substation_fault": {"power_crew": 1},
            "feeder_fault": {"power_crew": 1},
            "elevator_entrapment": {"elevator_tech": 1},
            "gas_leak": {"gas_crew": 1, "engine": 1},
            "lpg_leak": {"engine": 1},
            "gas_fire": {"engine": 2, "ladder": 1, "rescue": 1},
        }
    )
    on_scene: dict[str, ServiceTime] = field(
        default_factory=lambda: {
            "fire": ServiceTime(median_s=2700.0, sigma=0.6),
            "highrise_fire": ServiceTime(median_s=5400.0, sigma=0.5),  # incl. search (assumption)
            "rescue": ServiceTime(median_s=1800.0, sigma=0.6),
            "medical": ServiceTime(median_s=2400.0, sigma=0.4),  # incl. transport
            "water_main_break": ServiceTime(median_s=1200.0, sigma=0.3),  # isolate
            "substation_fault": ServiceTime(median_s=600.0, sigma=0.3),  # assess; repair: lifelines.*_repair
            "feeder_fault": ServiceTime(median_s=600.0, sigma=0.3),
            "elevator_entrapment": ServiceTime(median_s=1200.0, sigma=0.5),  # release the passengers
            "gas_leak": ServiceTime(median_s=900.0, sigma=0.4),  # locate the leak, close the valves
            "lpg_leak": ServiceTime(median_s=1200.0, sigma=0.4),  # close the cylinder, ventilate
            "gas_fire": ServiceTime(median_s=3600.0, sigma=0.6),
        }
    )
    severity: dict[str, int] = field(
        default_factory=lambda: {"fire": 1, "highrise_fire": 1, "rescue": 1, "medical": 2, "water_main_break": 3,
                                 "substation_fault": 3, "feeder_fault": 3, "elevator_entrapment": 2,
                                 "gas_leak": 1, "lpg_leak": 1, "gas_fire": 1}
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
    # Network pressure monitoring (the seed's 城市内涝和供水爆管等20余个综合预警模型: a burst
    # warning model on the mains' pressure data): a pressure-drop alarm within minutes; an assumption.
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
class DependencyRule:
    """``dependent`` components need ``needs`` (matched through ``via``: the
    zone they share, or the feeder's own substation); they fail ``delay_s``
    after losing it, or, with ``use_backup``, when the facility's own backup
    (a hospital generator's fuel) runs out."""

    dependent: str  # power.feeder | water.pump | water.booster | roads.signals | elevators | hospital
    needs: str  # power.substation | power.feeder
    via: str = "zone"  # zone | substation
    delay_s: float = 0.0
    use_backup: bool = False
    enabled: bool = True


@dataclass
class LifelinesConfig:
    """How lifelines depend on each other and how failures are restored.

    The dependency graph lives here (``dependencies``); the engine computes
    its fixed point whenever a component changes state and logs each
    consequence with its cause."""

    dependencies: list[DependencyRule] = field(default_factory=lambda: [
        DependencyRule("power.feeder", "power.substation", via="substation"),
        DependencyRule("water.pump", "power.feeder"),
        DependencyRule("water.booster", "power.feeder"),
        DependencyRule("roads.signals", "power.feeder"),
        DependencyRule("elevators", "power.feeder"),
        DependencyRule("hospital", "power.feeder", use_backup=True),
        DependencyRule("drainage.pump", "power.feeder"),
    ])
    # Dark signals turn intersections into all-way stops: travel on links
    # inside a dark zone is this much slower (assumption).
    signal_outage_factor: float = 1.3
    # Households on floors the mains' own pressure reaches (about 6 floors,
    # ~0.28 MPa; higher floors need the block's booster pumps). Assumption.
    mains_floors: int = 6
    # Elevators: one per this many households, at least 2 per block (GB 50096-2011
    # 6.4.1: residential buildings of 12+ floors have at least two elevators).
    households_per_elevator: int = 60
    # Probability that an elevator is carrying people between floors when the
    # power goes (assumption: daytime occupancy of residential lifts).
    p_occupied: float = 0.12
    # Restoration order of queued repairs: customers (most customers first),
    # critical (hospitals and pumps first, then customers), nearest (shortest
    # free-flow drive from a power depot first: the plan's order, which the
    # day's closures do not change).
    restoration_order: str = "critical"
    substation_repair: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=4 * 3600.0, sigma=0.5))
    feeder_repair: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=2 * 3600.0, sigma=0.5))
    # SCADA alarms report substation and feeder trips within about a minute.
    detection: ServiceTime = field(default_factory=lambda: ServiceTime(dist="fixed", median_s=60.0))
    # Trapped passengers call 96333 within minutes (assumption).
    entrapment_call: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=180.0, sigma=0.5))


@dataclass
class GasResponseConfig:
    """What follows a gas leak (engine); every number an assumption unless noted."""

    # Neighbours smell gas and call within minutes to tens of minutes.
    detection: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=900.0, sigma=0.6))
    # With interventions.gas_monitoring: the monitoring platform's alarm (assumption).
    monitoring: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=180.0, sigma=0.5))
    # Probability that the leak finds an ignition source before the gas stops,
    # and when; a shut-off before then prevents it.
    ignition_prob: float = 0.05
    lpg_ignition_prob: float = 0.1
    ignition_delay: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=1800.0, sigma=0.8))
    evacuation_radius_m: float = 100.0  # cordon around a leaking main (assumption)
    # PE mains are squeezed shut either side of the damage (common gas-utility
    # practice) instead of closing the valves of the segment; steel and cast
    # iron mains are isolated by their valves.
    squeeze_off_pe: bool = False
    # Gas shut-off valves are inspected more often than water valves (assumption).
    valve_fail_prob: float = 0.05
    repair: ServiceTime = field(default_factory=lambda: ServiceTime(median_s=4 * 3600.0, sigma=0.5))
    # After a shut-off every customer must be visited: check the meter, purge,
    # relight the appliances. One technician relights a few households an hour.
    relight_per_tech_h: float = 4.0
    relight_techs: int = 20
    relight_step_s: float = 1800.0  # service records every half hour while relighting


@dataclass
class ShiftConfig:
    """A duty roster for one unit kind: all crews on duty by day, a share at night.

    Utilities keep full crews on the day shift and a standby crew at night
    (assumption; set ``night_share`` to 1 for round-the-clock crews). A crew
    whose shift ends finishes the job in hand, then stands down; queued work
    waits for the next crew on duty."""

    day_start_h: float = 8.0  # local time
    day_end_h: float = 20.0
    night_share: float = 1.0  # share of the kind's units on duty at night (at least one)


@dataclass
class InterventionsConfig:
    pressure_monitoring: bool = False
    # E-bike fire interventions (parameters in policy.fire; sim/fire_config.py).
    charging_piles: bool = False
    sprinklers: bool = False
    alarm_maintenance: bool = False
    street_stations: bool = False
    # Gas network monitoring (pressure and methane sensors on the mains): a leak
    # is flagged by the platform instead of waiting for neighbours to smell it.
    gas_monitoring: bool = False


@dataclass
class PolicyConfig:
    name: str = "baseline"
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    repair: RepairConfig = field(default_factory=RepairConfig)
    interventions: InterventionsConfig = field(default_factory=InterventionsConfig)
    lifelines: LifelinesConfig = field(default_factory=LifelinesConfig)
    gas: GasResponseConfig = field(default_factory=GasResponseConfig)
    # Duty rosters by unit kind (e.g. power_crew, gas_crew, water_crew); kinds not listed work around the clock.
    shifts: dict[str, ShiftConfig] = field(default_factory=dict)
    fire: FireResponseConfig = field(default_factory=FireResponseConfig)  # sim/fire_config.py
    early_warning: EarlyWarningConfig = field(default_factory=EarlyWarningConfig)  # sim/flood_config.py


# ---------------------------------------------------------------------- run
@dataclass
class StandardsConfig:
    # GB 51080-2015 §4.1.3: arrive within 5 min of the dispatch order.
    gb51080_dispatch_to_arrival_s: float = 300.0
    # NFPA 1710: turnout 80 s (fire) / 60 s (EMS), travel 240 s, at the 90th percentile.
    nfpa1710_turnout_fire_s: float = 80.0
    nfpa1710_turnout_ems_s: float = 60.0
    nfpa1710_travel_s: float = 240.0
    # NFPA 1710 §4.1.2.1 (2004 numbering, DOMAIN.md 2.1): an advanced life support unit within
    # 480 s of travel at an EMS incident. Every ambulance is taken as ALS (an assumption).
    nfpa1710_travel_als_s: float = 480.0
    # NFPA 1710: the initial full alarm assignment (the run card on scene) within 480 s of
    # travel at a fire; 610 s at a high-rise fire (DOMAIN.md 2.1).
    nfpa1710_full_alarm_travel_s: float = 480.0
    nfpa1710_full_alarm_highrise_travel_s: float = 610.0
    fractile: float = 0.9


@dataclass
class RunConfig:
    horizon_s: float = 86400.0
    start: str = "2026-07-15T06:00:00"  # ISO local time of t_s = 0
    timezone: str = "Asia/Shanghai"
    report: bool = True
    city_cache: bool = True  # keep generated cities that take >= 1 s to build on disk (sim/citycache.py)


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
    _check(cfg.city.seed is None or cfg.city.seed >= 0, "city.seed", f"must be >= 0 or null (got {cfg.city.seed})")
    _positive(cfg.run.horizon_s, "run.horizon_s")
    try:
        from datetime import datetime

        datetime.fromisoformat(cfg.run.start)
    except ValueError:
        raise ConfigError("run.start", f"not an ISO date-time (got {cfg.run.start!r})") from None
    _check(_known_timezone(cfg.run.timezone), "run.timezone",
           f"not an IANA time zone such as Asia/Shanghai (got {cfg.run.timezone!r})")
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
    if c.kind in ("district", "metro"):  # the generated grid: enough blocks for its river, expressways and zones
        blocks = (round(c.width_km * 1000.0 / c.block_m), round(c.height_km * 1000.0 / c.block_m))
        _check(min(blocks) >= _MIN_BLOCKS, "city.block_m",
               f"gives a grid of {blocks[0]} x {blocks[1]} blocks for {c.width_km:g} x {c.height_km:g} km; "
               f"at least {_MIN_BLOCKS} each way are needed (a larger city or a smaller block)")
        nodes = (blocks[0] + 1) * (blocks[1] + 1)
        _check(c.n_zones <= nodes // 2, "city.n_zones",
               f"must be at most {nodes // 2} for a grid of {nodes} street corners (got {c.n_zones})")
    if c.fire.station_nodes is None:
        _check(c.fire.max_stations >= 1, "city.fire.max_stations",
               f"must be >= 1 (got {c.fire.max_stations}); a city with no fire station: not modelled")
    if c.ambulance.station_nodes is None:
        _check(c.ambulance.n_stations >= 1, "city.ambulance.n_stations", f"must be >= 1 (got {c.ambulance.n_stations})")
    _check(c.ambulance.people_per_ambulance >= 1, "city.ambulance.people_per_ambulance",
           f"must be >= 1 (got {c.ambulance.people_per_ambulance})")
    _check(c.water.n_depots >= 1, "city.water.n_depots", f"must be >= 1 (got {c.water.n_depots})")
    if c.gas.enabled:
        _check(c.gas.n_depots >= 1, "city.gas.n_depots", f"must be >= 1 (got {c.gas.n_depots})")
    if c.power.enabled:
        _check(c.power.n_power_depots >= 1, "city.power.n_power_depots",
               f"must be >= 1 (got {c.power.n_power_depots})")
        _check(c.power.n_elevator_centres >= 1, "city.power.n_elevator_centres",
               f"must be >= 1 (got {c.power.n_elevator_centres})")
    for net in ("water", "gas"):
        lo, hi = getattr(c, net).install_year_min, getattr(c, net).install_year_max
        _check(lo <= hi, f"city.{net}.install_year_max", f"must be >= install_year_min={lo} (got {hi})")
    _check(c.water.n_plants >= 1, "city.water.n_plants", f"must be >= 1 (got {c.water.n_plants})")
    _check(0 <= c.water.valve_arterial_share <= 1, "city.water.valve_arterial_share",
           f"must be in [0, 1] (got {c.water.valve_arterial_share})")
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
        for unit in card:
            _check(unit in UNIT_KINDS, f"policy.dispatch.run_cards.{kind}.{unit}",
                   f"no such unit kind; known: {', '.join(UNIT_KINDS)}")
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
    _once([b.pipe for b in pb.bursts], "scenario.pipe_burst.bursts", "pipe",
          "one break per main in a run (a second break while the first is open is not modelled)")
    _walk_numbers(cfg.scenario.power_outage, "scenario.power_outage")
    po = cfg.scenario.power_outage
    _check(po.window_end_s >= po.window_start_s, "scenario.power_outage.window_end_s",
           "must be >= window_start_s")
    for i, f in enumerate(po.faults):
        _check(f.component.startswith(("power.substation.", "power.feeder.")),
               f"scenario.power_outage.faults[{i}].component",
               f"must name power.substation.ID or power.feeder.ID (got {f.component!r})")
        _check(f.t_s < cfg.run.horizon_s, f"scenario.power_outage.faults[{i}].t_s",
               f"after the horizon run.horizon_s={cfg.run.horizon_s}")
    _once([f.component for f in po.faults], "scenario.power_outage.faults", "component",
          "one fault per component in a run (a second fault while the first is open is not modelled)")
    ll = cfg.policy.lifelines
    for i, rule in enumerate(ll.dependencies):
        key = f"policy.lifelines.dependencies[{i}]"
        _check(rule.dependent in DEPENDENTS, f"{key}.dependent",
               f"must be one of {', '.join(DEPENDENTS)} (got {rule.dependent!r})")
        _check(rule.needs in ("power.substation", "power.feeder"), f"{key}.needs",
               f"must be power.substation or power.feeder (got {rule.needs!r})")
        _check(rule.via in ("zone", "substation"), f"{key}.via", f"must be zone or substation (got {rule.via!r})")
        _check((rule.via == "substation") == (rule.dependent == "power.feeder"), f"{key}.via",
               "a feeder depends on its own substation (via: substation); everything else via: zone")
    _check(ll.signal_outage_factor >= 1, "policy.lifelines.signal_outage_factor", "must be >= 1")
    _check(0 <= ll.p_occupied <= 1, "policy.lifelines.p_occupied", "must be in [0, 1]")
    _check(ll.households_per_elevator >= 1, "policy.lifelines.households_per_elevator", "must be >= 1")
    _check(ll.restoration_order in RESTORATION_ORDERS, "policy.lifelines.restoration_order",
           f"must be one of {', '.join(RESTORATION_ORDERS)} (got {ll.restoration_order!r})")
    for name in ("substation_repair", "feeder_repair", "detection", "entrapment_call"):
        _check_service_time(getattr(ll, name), f"policy.lifelines.{name}")
    for kind in cfg.scenario.waterlogging.roads.light_kinds:
        _check(kind in UNIT_KINDS, "scenario.waterlogging.roads.light_kinds",
               f"no such unit kind {kind!r}; known: {', '.join(UNIT_KINDS)}")
    for kind, sh in cfg.policy.shifts.items():
        key = f"policy.shifts.{kind}"
        _check(kind in UNIT_KINDS, key, f"no such unit kind; known: {', '.join(UNIT_KINDS)}")
        _check(0 <= sh.day_start_h < 24 and 0 <= sh.day_end_h <= 24 and sh.day_start_h < sh.day_end_h,
               key, "needs 0 <= day_start_h < day_end_h <= 24")
        _check(0 <= sh.night_share <= 1, f"{key}.night_share", "must be in [0, 1]")
    _walk_numbers(cfg.scenario.gas_leak, "scenario.gas_leak")
    gl = cfg.scenario.gas_leak
    _check(gl.window_end_s >= gl.window_start_s, "scenario.gas_leak.window_end_s", "must be >= window_start_s")
    for i, lk in enumerate(gl.leaks):
        key = f"scenario.gas_leak.leaks[{i}]"
        _check((lk.pipe is None) != (lk.zone is None), key, "give either pipe (a gas main) or zone (an LPG leak)")
        _check(lk.cause in ("excavation", "corrosion", "lpg"), f"{key}.cause",
               f"must be excavation, corrosion or lpg (got {lk.cause!r})")
        _check((lk.cause == "lpg") == (lk.zone is not None), f"{key}.cause", "lpg leaks name a zone, main leaks a pipe")
        _check(lk.t_s < cfg.run.horizon_s, f"{key}.t_s", f"after the horizon run.horizon_s={cfg.run.horizon_s}")
    _once([lk.pipe for lk in gl.leaks if lk.pipe is not None], "scenario.gas_leak.leaks", "pipe",
          "one leak per main in a run (a second leak while the first is open is not modelled)")
    _windows_within(cfg)
    g = cfg.policy.gas
    for name in ("ignition_prob", "lpg_ignition_prob"):
        _check(0 <= getattr(g, name) <= 1, f"policy.gas.{name}", "must be in [0, 1]")
    _check(0 <= g.valve_fail_prob < 1, "policy.gas.valve_fail_prob", "must be in [0, 1)")
    _check(g.relight_per_tech_h > 0, "policy.gas.relight_per_tech_h", "must be > 0")
    _check(g.relight_techs >= 1, "policy.gas.relight_techs", "must be >= 1")
    _check(g.relight_step_s > 0, "policy.gas.relight_step_s", "must be > 0")
    for name in ("detection", "monitoring", "ignition_delay", "repair"):
        _check_service_time(getattr(g, name), f"policy.gas.{name}")
    gc = cfg.city.gas
    _check(0 <= gc.piped_share <= 1, "city.gas.piped_share", "must be in [0, 1]")
    _check(0 <= gc.lpg_share <= 1, "city.gas.lpg_share", "must be in [0, 1]")
    _check(abs(sum(gc.materials.values()) - 1.0) < 1e-6, "city.gas.materials", "shares must add up to 1")
    pw = cfg.city.power
    _check(0 < pw.pressure_zone_quantile <= 1, "city.power.pressure_zone_quantile", "must be in (0, 1]")
    _check(pw.people_per_substation > 0, "city.power.people_per_substation", "must be > 0")
    validate_fire(cfg.scenario.ebike_fire, cfg.policy.fire, cfg.run.horizon_s)
    validate_waterlogging(cfg.scenario.waterlogging)
    validate_early_warning(cfg.policy.early_warning)
    wl = cfg.scenario.waterlogging
    for key, card in (("scenario.waterlogging.trapped.run_card", wl.trapped.run_card),
                      ("scenario.waterlogging.people.run_card", wl.people.run_card),
                      ("policy.fire.second_alarm", cfg.policy.fire.second_alarm)):
        for unit in card:
            _check(unit in UNIT_KINDS, f"{key}.{unit}", f"no such unit kind; known: {', '.join(UNIT_KINDS)}")
    s = cfg.standards
    for std in fields(s):  # a target of 0 s cannot be met (and the report refuses it after the run)
        _positive(getattr(s, std.name), f"standards.{std.name}")
    _check(0 < s.fractile < 1, "standards.fractile", "must be in (0, 1)")
    return cfg


_MIN_BLOCKS = 3  # blocks along each side of a generated district (2 fails in the builder)


def _known_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA zone; true for any name on a machine with no zone database
    (no /usr/share/zoneinfo and no tzdata package): the name is only printed in reports."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    for zone in (name, "UTC"):
        try:
            ZoneInfo(zone)
            return zone == name
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of zones, e.g. "Asia"
            if zone == "UTC":
                return True
    return False


def _once(names: list[str], key: str, field_name: str, why: str) -> None:
    """Each name once: ``key[i].field_name`` of the second listing is the error."""
    first: dict[str, int] = {}
    for i, name in enumerate(names):
        _check(name not in first, f"{key}[{i}].{field_name}",
               f"{name} is listed already at {key}[{first.get(name)}]; {why}")
        first[name] = i


def _windows_within(cfg: Config) -> None:
    """A scenario of the run must be able to happen before the horizon (random hazards, the storm)."""
    sc, horizon = cfg.scenario, cfg.run.horizon_s
    active = set(sc.parts) if sc.name == "compound" else {sc.name}
    # name -> (window start, whether the hazards are drawn at random in the window)
    random = {"pipe_burst": (sc.pipe_burst.window_start_s, not sc.pipe_burst.bursts),
              "power_outage": (sc.power_outage.window_start_s, not sc.power_outage.faults),
              "gas_leak": (sc.gas_leak.window_start_s, not sc.gas_leak.leaks)}
    for name, (start_s, drawn) in random.items():
        if name in active and drawn:
            _check(start_s < horizon, f"scenario.{name}.window_start_s",
                   f"{start_s:g} s is not before the horizon run.horizon_s={horizon:g}: no hazard could happen")
    if "waterlogging" in active:
        start = sc.waterlogging.storm.start_s
        _check(start < horizon, "scenario.waterlogging.storm.start_s",
               f"the storm starts at {start:g} s, not before the horizon run.horizon_s={horizon:g}")


#: Components that may depend on power (policy.lifelines.dependencies[].dependent).
DEPENDENTS = ("power.feeder", "water.pump", "water.booster", "roads.signals", "elevators", "hospital",
              "drainage.pump")
#: Every kind of response unit a city can have (run cards and duty rosters name these).
UNIT_KINDS = ("engine", "ladder", "rescue", "ambulance", "water_crew", "power_crew", "elevator_tech", "gas_crew",
              "pump_truck")
#: Orders in which queued utility repairs are taken (policy.lifelines.restoration_order).
RESTORATION_ORDERS = ("critical", "customers", "nearest")


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
