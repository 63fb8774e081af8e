"""The city as plain data: roads, zones, stations, units and the water network.

A :class:`City` is built once per run (``sim.district`` for the embedded
districts, loaders for real networks) and never changes afterwards: the engine
keeps its mutable state (closures, valve positions, unit positions) elsewhere.
Nothing here imports SimPy, so the city can be built and tested on its own.

Conventions
-----------
* Road nodes are integers ``0 .. n_nodes-1``; coordinates in metres.
* Road links are undirected unless ``oneway`` is true (then ``u -> v`` only);
  link ``i`` has the scope ``roads.link.{i}``.
* Water nodes are road nodes (mains follow the roads); pipe ``j`` has the
  scope ``water.pipe.{pipe_id}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "City",
    "Facility",
    "Feeder",
    "HighRise",
    "PowerGrid",
    "Pump",
    "Substation",
    "Roads",
    "Station",
    "UnitSpec",
    "Valve",
    "WaterNetwork",
    "Zone",
    "ROAD_CLASSES",
]

#: Road classes, by index into ``Roads.road_class``.
ROAD_CLASSES: tuple[str, ...] = ("expressway", "arterial", "local")


@dataclass(frozen=True, eq=False)
class Roads:
    """The road graph as flat arrays (one entry per node or per link)."""

    x_m: np.ndarray  # (n,) float
    y_m: np.ndarray  # (n,) float
    elev_m: np.ndarray  # (n,) float, ground elevation
    u: np.ndarray  # (m,) int, link start node
    v: np.ndarray  # (m,) int, link end node
    length_m: np.ndarray  # (m,) float
    speed_kmh: np.ndarray  # (m,) float, free-flow speed of an emergency vehicle
    road_class: np.ndarray  # (m,) int, index into ROAD_CLASSES
    oneway: np.ndarray  # (m,) bool
    bridge: np.ndarray  # (m,) bool
    tunnel: np.ndarray  # (m,) bool
    underpass: np.ndarray  # (m,) bool

    @property
    def n_nodes(self) -> int:
        return int(self.x_m.shape[0])

    @property
    def n_links(self) -> int:
        return int(self.u.shape[0])

    def travel_time_s(self) -> np.ndarray:
        """Free-flow travel time of each link in seconds."""
        return self.length_m / (self.speed_kmh / 3.6)


@dataclass(frozen=True)
class HighRise:
    """A high-rise residential block (the fire issue uses floors and households)."""

    id: str
    zone: str
    node: int
    floors: int
    households: int
    height_m: float


@dataclass(frozen=True)
class Zone:
    """A street-level area (街道) with people, homes and a water-demand node."""

    id: str
    name: str
    node: int  # the road node nearest the zone centre
    x_m: float
    y_m: float
    area_km2: float
    population: int
    households: int
    water_node: int  # water node that serves the zone (a road node)
    district: str = ""  # the administrative district (区) it belongs to, if any


@dataclass(frozen=True)
class UnitSpec:
    """A response unit as specified (its runtime state lives in the engine)."""

    id: str  # e.g. "FS04.E1"
    kind: str  # engine, ladder, rescue, ambulance, water_crew, ...
    station: str  # station id

    @property
    def scope(self) -> str:
        return f"units.{self.kind}.{self.id}"


@dataclass(frozen=True)
class Station:
    id: str  # e.g. "FS04"
    kind: str  # fire, ambulance, water_depot
    node: int
    name: str = ""
    units: tuple[UnitSpec, ...] = ()


@dataclass(frozen=True)
class Valve:
    """An isolation valve on ``pipe`` next to water node ``node``."""

    id: str
    pipe: int  # index into WaterNetwork pipe arrays
    node: int


@dataclass(frozen=True)
class Pump:
    """A booster pump station lifting a pressure zone: the zone's nodes have
    water only while the pump runs (and the pump needs power)."""

    id: str
    node: int  # where the station stands (a water node)
    zone: str  # the street-level zone whose feeder powers it
    lifted: tuple[int, ...]  # water nodes of the pressure zone it serves


@dataclass(frozen=True, eq=False)
class WaterNetwork:
    """Water mains along the roads; nodes are road nodes.

    ``customers`` gives the number of customer accounts (households and
    businesses) drawing water at each road node; it is zero where no zone
    demand is attached.
    """

    pipe_ids: tuple[str, ...]
    u: np.ndarray  # (p,) int, road node
    v: np.ndarray  # (p,) int, road node
    length_m: np.ndarray  # (p,) float
    diameter_mm: np.ndarray  # (p,) float
    material: tuple[str, ...]  # per pipe: CI, DI, PVC, PE, steel, AC
    install_year: np.ndarray  # (p,) int
    road_link: np.ndarray  # (p,) int, the road link the main runs under (-1: none)
    sources: tuple[int, ...]  # treatment plant nodes
    valves: tuple[Valve, ...]
    customers: np.ndarray  # (n_road_nodes,) int
    pumps: tuple[Pump, ...] = ()

    @property
    def n_pipes(self) -> int:
        return int(self.u.shape[0])


@dataclass(frozen=True)
class Substation:
    """A 110 kV/10 kV substation; it trips when flood water at its site is deeper
    than ``flood_threshold_m`` (the waterlogging model reads it)."""

    id: str
    node: int
    flood_threshold_m: float


@dataclass(frozen=True)
class Feeder:
    """A 10 kV feeder from ``substation`` serving the distribution transformers of one zone."""

    id: str
    substation: str
    zone: str
    customers: int  # power customer accounts (households) on the feeder


@dataclass(frozen=True)
class Facility:
    """A facility whose service depends on power: a hospital with a backup generator."""

    id: str
    kind: str  # hospital
    node: int
    zone: str
    name: str = ""
    backup_h: float = 0.0  # hours the backup generator runs on its fuel (0: none)


@dataclass(frozen=True)
class PowerGrid:
    substations: tuple[Substation, ...]
    feeders: tuple[Feeder, ...]

    def feeder_of_zone(self) -> dict[str, str]:
        return {f.zone: f.id for f in self.feeders}


@dataclass(frozen=True, eq=False)
class City:
    name: str
    roads: Roads
    zones: tuple[Zone, ...]
    highrises: tuple[HighRise, ...]
    stations: tuple[Station, ...]
    water: WaterNetwork
    meta: dict[str, object] = field(default_factory=dict)
    power: PowerGrid | None = None
    facilities: tuple[Facility, ...] = ()
    # Piped gas: the same structure as water (gate stations as sources,
    # shut-off valves, customer accounts per node); pipe ids G1.., valves GV1..
    gas: WaterNetwork | None = None
    lpg_users: tuple[tuple[str, int], ...] = ()  # (zone id, bottled-LPG users)

    @property
    def population(self) -> int:
        return sum(z.population for z in self.zones)

    def units(self) -> list[UnitSpec]:
        return [u for s in self.stations for u in s.units]

    def station(self, station_id: str) -> Station:
        for s in self.stations:
            if s.id == station_id:
                return s
        raise KeyError(station_id)


def check_city(city: City) -> None:
    """Raise ValueError with a clear message when ``city`` is malformed.

    Checks array lengths, node references of links, stations, zones, pipes and
    valves, and that lengths and speeds are positive. Loaders of real networks
    call it so that a bad file fails before a run starts.
    """
    r = city.roads
    if r.x_m.ndim != 1 or r.u.ndim != 1:
        raise ValueError("roads: node and link arrays must be one-dimensional")
    n = r.n_nodes
    for name in ("y_m", "elev_m"):
        if getattr(r, name).shape != (n,):
            raise ValueError(f"roads.{name}: expected {n} values (one per node), got {getattr(r, name).shape}")
    m = r.n_links
    for name in ("v", "length_m", "speed_kmh", "road_class", "oneway", "bridge", "tunnel", "underpass"):
        if getattr(r, name).shape != (m,):
            raise ValueError(f"roads.{name}: expected {m} values (one per link), got {getattr(r, name).shape}")
    for name in ("u", "v"):
        arr = getattr(r, name)
        bad = np.nonzero((arr < 0) | (arr >= n))[0]
        if len(bad):
            raise ValueError(f"roads.link.{bad[0]}: node {arr[bad[0]]} does not exist (nodes are 0..{n - 1})")
    for name in ("length_m", "speed_kmh"):
        arr = getattr(r, name)
        bad = np.nonzero(~(arr > 0) | ~np.isfinite(arr))[0]
        if len(bad):
            raise ValueError(f"roads.link.{bad[0]}: {name} must be positive and finite (got {arr[bad[0]]})")
    if not (np.all(np.isfinite(r.x_m)) and np.all(np.isfinite(r.y_m)) and np.all(np.isfinite(r.elev_m))):
        raise ValueError("roads: node coordinates and elevations must be finite")
    seen: set[str] = set()
    for s in city.stations:
        if s.id in seen:
            raise ValueError(f"station {s.id}: duplicate id")
        seen.add(s.id)
        if not 0 <= s.node < n:
            raise ValueError(f"station {s.id}: node {s.node} does not exist (nodes are 0..{n - 1})")
        for unit in s.units:
            if unit.station != s.id:
                raise ValueError(f"unit {unit.id}: listed under station {s.id} but names {unit.station}")
    unit_ids = [u.id for u in city.units()]
    if len(set(unit_ids)) != len(unit_ids):
        raise ValueError("units: duplicate unit ids")
    zone_ids = {z.id for z in city.zones}
    if len(zone_ids) != len(city.zones):
        raise ValueError("zones: duplicate zone ids")
    for z in city.zones:
        for what, node in (("node", z.node), ("water_node", z.water_node)):
            if not 0 <= node < n:
                raise ValueError(f"zone {z.id}: {what} {node} does not exist (nodes are 0..{n - 1})")
        if z.population < 0 or z.households < 0:
            raise ValueError(f"zone {z.id}: population and households must be >= 0")
    for h in city.highrises:
        if not 0 <= h.node < n:
            raise ValueError(f"highrise {h.id}: node {h.node} does not exist (nodes are 0..{n - 1})")
        if h.zone not in zone_ids:
            raise ValueError(f"highrise {h.id}: zone {h.zone} does not exist")
    w = city.water
    p = w.n_pipes
    if len(w.pipe_ids) != p or len(set(w.pipe_ids)) != p:
        raise ValueError("water: pipe ids must be unique, one per pipe")
    for name in ("v", "length_m", "diameter_mm", "install_year", "road_link"):
        if getattr(w, name).shape != (p,):
            raise ValueError(f"water.{name}: expected {p} values (one per pipe)")
    if len(w.material) != p:
        raise ValueError(f"water.material: expected {p} values (one per pipe)")
    for name in ("u", "v"):
        arr = getattr(w, name)
        bad = np.nonzero((arr < 0) | (arr >= n))[0]
        if len(bad):
            raise ValueError(f"water.pipe.{w.pipe_ids[bad[0]]}: node {arr[bad[0]]} does not exist")
    bad = np.nonzero(~(w.length_m > 0) | ~np.isfinite(w.length_m) | ~(w.diameter_mm > 0))[0]
    if len(bad):
        raise ValueError(f"water.pipe.{w.pipe_ids[bad[0]]}: length and diameter must be positive and finite")
    bad = np.nonzero((w.road_link < -1) | (w.road_link >= m))[0]
    if len(bad):
        raise ValueError(f"water.pipe.{w.pipe_ids[bad[0]]}: road link {w.road_link[bad[0]]} does not exist")
    if not w.sources and p:
        raise ValueError("water: the network has no source (treatment plant or reservoir)")
    for src in w.sources:
        if not 0 <= src < n:
            raise ValueError(f"water: source node {src} does not exist")
    if len({v.id for v in w.valves}) != len(w.valves):
        raise ValueError("water: duplicate valve ids")
    for v in w.valves:
        if not 0 <= v.pipe < p:
            raise ValueError(f"water.valve.{v.id}: pipe {v.pipe} does not exist")
        if v.node not in (int(w.u[v.pipe]), int(w.v[v.pipe])):
            raise ValueError(f"water.valve.{v.id}: node {v.node} is not an end of pipe {w.pipe_ids[v.pipe]}")
    if w.customers.shape != (n,) or np.any(w.customers < 0):
        raise ValueError(f"water.customers: expected {n} non-negative counts (one per node)")
    for pump in w.pumps:
        if not 0 <= pump.node < n or any(not 0 <= k < n for k in pump.lifted):
            raise ValueError(f"water.pump.{pump.id}: a node it names does not exist (nodes are 0..{n - 1})")
        if pump.zone not in zone_ids:
            raise ValueError(f"water.pump.{pump.id}: zone {pump.zone} does not exist")
    if city.power is not None:
        subs = {sub.id for sub in city.power.substations}
        if len(subs) != len(city.power.substations):
            raise ValueError("power: duplicate substation ids")
        for sub in city.power.substations:
            if not 0 <= sub.node < n:
                raise ValueError(f"power.substation.{sub.id}: node {sub.node} does not exist (nodes are 0..{n - 1})")
        if len({f.id for f in city.power.feeders}) != len(city.power.feeders):
            raise ValueError("power: duplicate feeder ids")
        for f in city.power.feeders:
            if f.substation not in subs:
                raise ValueError(f"power.feeder.{f.id}: substation {f.substation} does not exist")
            if f.zone not in zone_ids:
                raise ValueError(f"power.feeder.{f.id}: zone {f.zone} does not exist")
    for fac in city.facilities:
        if not 0 <= fac.node < n:
            raise ValueError(f"{fac.kind}.{fac.id}: node {fac.node} does not exist (nodes are 0..{n - 1})")
        if fac.zone not in zone_ids:
            raise ValueError(f"{fac.kind}.{fac.id}: zone {fac.zone} does not exist")
    if city.gas is not None:
        g = city.gas
        for arr in (g.u, g.v):
            bad = np.nonzero((arr < 0) | (arr >= n))[0]
            if len(bad):
                raise ValueError(f"gas.pipe.{g.pipe_ids[bad[0]]}: node {arr[bad[0]]} does not exist")
        for gv in g.valves:
            if not 0 <= gv.pipe < g.n_pipes or gv.node not in (int(g.u[gv.pipe]), int(g.v[gv.pipe])):
                raise ValueError(f"gas.valve.{gv.id}: not on an end of an existing pipe")
        if g.customers.shape != (n,) or np.any(g.customers < 0):
            raise ValueError(f"gas.customers: expected {n} non-negative counts (one per node)")
    for zid, users in city.lpg_users:
        if zid not in zone_ids or users < 0:
            raise ValueError(f"lpg_users: zone {zid} does not exist or has a negative count")
