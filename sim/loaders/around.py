"""Zones, stations and customers generated around a loaded network.

The rules are the generated district's, so that a loaded city and the
embedded one are sited alike:

* **Customers** (only without a water file, whose demands give them):
  ``city.population / city.household_size`` households spread over the nodes
  a main reaches, with gamma(2) weights (some blocks are denser than others).
* **Zones**: ``city.n_zones`` centres by household-weighted k-means snapped to
  road nodes (:func:`sim.district.kmeans_sites`); a node belongs to the
  nearest centre, the rule the engine uses to name an incident's zone. A
  zone's population is its households times ``city.household_size``; its
  area is its share of nodes times the area of the nodes' convex hull.
* **Fire stations**: GB 51080 five-minute coverage by greedy maximum
  coverage (:func:`sim.district.site_fire_stations`) over the nodes on
  streets other than expressways; ambulance stations and water depots by
  household-weighted k-means (one ambulance per
  ``city.ambulance.people_per_ambulance``). Explicit
  ``city.fire.station_nodes`` / ``city.ambulance.station_nodes`` are the road
  file's node ids (TNTP node numbers, OSM node ids, EPANET node ids that are
  numbers) and replace the siting.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from sim.city import Roads, Station, UnitSpec, Zone
from sim.config import CityConfig, ConfigError
from sim.district import fire_coverage, kmeans_sites, site_fire_stations, travel_graph
from sim.loaders.roads import LoadedRoads
from sim.rng import parts_of

__all__ = ["spread_households", "make_stations", "make_zones"]


def spread_households(cfg: CityConfig, n_nodes: int, on_main: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    homes = np.nonzero(on_main)[0] if on_main.any() else np.arange(n_nodes)
    share = rng.gamma(2.0, size=len(homes))
    out = np.zeros(n_nodes, dtype=np.int64)
    out[homes] = rng.multinomial(int(round(cfg.population / cfg.household_size)), share / share.sum())
    return out


def _weights(customers: np.ndarray) -> np.ndarray:
    return customers.astype(float) if customers.sum() > 0 else np.ones(len(customers))


def _hull_area_km2(x: np.ndarray, y: np.ndarray) -> float:
    try:
        return float(ConvexHull(np.column_stack([x, y])).volume) / 1e6
    except (QhullError, ValueError):
        return 0.0


def make_zones(cfg: CityConfig, roads: Roads, customers: np.ndarray, rng: np.random.Generator) -> list[Zone]:
    x, y, n = roads.x_m, roads.y_m, roads.n_nodes
    w = _weights(customers)
    k = max(1, min(cfg.n_zones, int((w > 0).sum())))
    centres = kmeans_sites(x, y, w, np.arange(n), k, rng)
    cx, cy = x[centres], y[centres]
    member = np.argmin((x[:, None] - cx[None, :]) ** 2 + (y[:, None] - cy[None, :]) ** 2, axis=1)
    area = _hull_area_km2(x, y)
    zones = []
    for z, node in enumerate(centres):
        hh = int(customers[member == z].sum())
        zones.append(Zone(
            id=f"Z{z + 1:02d}", name=f"Zone {z + 1}", node=int(node), x_m=round(float(cx[z]), 1),
            y_m=round(float(cy[z]), 1), area_km2=round(area * float((member == z).mean()), 3),
            population=int(round(hh * cfg.household_size)), households=hh, water_node=int(node),
        ))
    return zones


def _explicit(nodes: list[int] | None, loaded: LoadedRoads, key: str) -> list[int] | None:
    if nodes is None:
        return None
    if len(nodes) == 0:
        raise ConfigError(key, "an empty list leaves the city without stations; use null to site them")
    where = loaded.meta.get("roads_file") or loaded.meta.get("water_file")
    out: list[int] = []
    for i, node in enumerate(nodes):
        if isinstance(node, bool) or not isinstance(node, Integral):
            raise ConfigError(f"{key}[{i}]", f"{node!r} is not a node id")
        road = loaded.index.get(str(int(node)))
        if road is None:
            raise ConfigError(f"{key}[{i}]", f"node {node} is not a node of the road network in {where} "
                                             "(ids are the file's own; nodes of dropped pieces do not count)")
        if road in out:
            raise ConfigError(f"{key}[{i}]", f"node {node} is listed twice")
        out.append(road)
    return out


def _station(sid: str, kind: str, node: int, name: str, spec: list[tuple[str, str, int]]) -> Station:
    units = tuple(UnitSpec(f"{sid}.{letter}{j}", unit, sid) for unit, letter, k in spec for j in range(1, k + 1))
    return Station(sid, kind, node, name, units)


def make_stations(cfg: CityConfig, loaded: LoadedRoads, customers: np.ndarray, population: int,
                  rng: np.random.Generator, meta: dict[str, object]) -> tuple[list[Station], bool]:
    """Fire, ambulance and water-depot stations; returns them and whether any were sited here.

    Ambulance stations and water depots are sited from generators of their own (sim.rng.parts_of):
    a count of one leaves the other where it was.
    """
    part = parts_of(rng)
    roads = loaded.roads
    n, x, y = roads.n_nodes, roads.x_m, roads.y_m
    f, a = cfg.fire, cfg.ambulance
    # Stations stand on ordinary streets, not on expressway-only nodes (a loaded network's classes
    # come from its speeds, so "arterial" may mean little more than the ramps).
    street = np.zeros(n, bool)
    ok = roads.road_class != 0
    street[roads.u[ok]] = street[roads.v[ok]] = True
    cand = np.nonzero(street)[0] if street.any() else np.arange(n)
    limit = max(f.coverage_s - f.turnout_s, 0.0)
    sited = False
    fire = _explicit(f.station_nodes, loaded, "city.fire.station_nodes")
    if fire is None:
        if f.max_stations < 1:
            raise ConfigError("city.fire.max_stations", "must be >= 1 when station_nodes is not given")
        fire = sorted(site_fire_stations(travel_graph(roads), cand, cfg, np.zeros(n, bool))[0]) or [int(cand[0])]
        sited = True
    w = _weights(customers)
    n_amb = max(1, math.ceil(population / max(a.people_per_ambulance, 1)))
    amb = _explicit(a.station_nodes, loaded, "city.ambulance.station_nodes")
    if amb is None:
        if a.n_stations < 1:
            raise ConfigError("city.ambulance.n_stations", "must be >= 1 when station_nodes is not given")
        amb = sorted(kmeans_sites(x, y, w, cand, min(a.n_stations, n_amb, int((w > 0).sum())),
                                  part("stations.ambulance")))
        sited = True
    per = np.full(len(amb), n_amb // len(amb))
    per[: n_amb - int(per.sum())] += 1
    depots = sorted(kmeans_sites(x, y, w, cand, max(1, min(cfg.water.n_depots, int((w > 0).sum()))),
                                 part("stations.water_depot")))
    out = [_station(f"FS{i:02d}", "fire", node, f"Fire Station {i}",
                    [("engine", "E", f.engines_per_station), ("ladder", "L", f.ladders_per_station),
                     ("rescue", "R", f.rescue_per_station)]) for i, node in enumerate(fire, start=1)]
    out += [_station(f"AS{i:02d}", "ambulance", node, f"120 Station {i}", [("ambulance", "A", int(k))])
            for i, (node, k) in enumerate(zip(amb, per, strict=True), start=1)]
    out += [_station(f"WD{i:02d}", "water_depot", node, f"Water Depot {i}",
                     [("water_crew", "C", cfg.water.crews_per_depot)]) for i, node in enumerate(depots, start=1)]
    meta.update(n_fire_stations=len(fire), fire_travel_limit_s=limit,
                fire_coverage=round(fire_coverage(roads, fire, limit), 4), n_ambulances=n_amb)
    return out, sited
