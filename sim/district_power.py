"""The generated power grid, what depends on it, and the gas network.

Coarse and documented as such (DOMAIN.md 3.6 for the flood threshold; the
rest are assumptions in ``conf/city/district.yaml`` under ``power``):

* **Substations** (110 kV/10 kV): one per ``people_per_substation``, sited by
  customer-weighted k-means on arterial nodes; every zone is fed from the
  substation nearest its centre.
* **Feeders**: one 10 kV feeder group per street-level zone; its customers
  are the zone's households.
* **Booster pump stations**: the water nodes above the
  ``pressure_zone_quantile`` of elevation form pressure zones (connected
  pieces of the mains among them); each has a pump station at its lowest
  node, powered by that node's zone feeder. A lifted node has water only
  while its pump runs.
* **Hospitals** with backup generators (``hospital_backup_h`` of fuel), a
  **power depot** with repair crews, and **elevator emergency centres**
  (the seed's 96333 service) with technicians.
* **Gas** (:func:`build_gas`): mains under the same streets as water (the
  district water generator's layout, with the gas materials and valve
  spacing), two gate stations, shut-off valves; customers are the
  households on piped gas (``piped_share``); bottled-LPG users
  (``lpg_share``) are counted per zone, with no network. A gas depot holds
  the gas crews.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.city import (
    Facility,
    Feeder,
    HighRise,
    PowerGrid,
    Pump,
    Roads,
    Station,
    Substation,
    UnitSpec,
    WaterNetwork,
    Zone,
)
from sim.config import CityConfig
from sim.district import kmeans_sites
from sim.rng import Parts

__all__ = ["PowerParts", "build_gas", "build_power", "node_zones"]


def node_zones(roads: Roads, zones: tuple[Zone, ...] | list[Zone]) -> np.ndarray:
    """Index of the zone whose centre is nearest each road node (the engine's rule)."""
    if not zones:
        return np.zeros(roads.n_nodes, dtype=np.int64)
    zx = np.array([z.x_m for z in zones])
    zy = np.array([z.y_m for z in zones])
    out = np.empty(roads.n_nodes, dtype=np.int64)
    step = 20000  # bounded memory for large cities
    for a in range(0, roads.n_nodes, step):
        x, y = roads.x_m[a:a + step, None], roads.y_m[a:a + step, None]
        out[a:a + step] = np.argmin((x - zx[None, :]) ** 2 + (y - zy[None, :]) ** 2, axis=1)
    return out


class PowerParts:
    """What :func:`build_power` adds to a city."""

    def __init__(self, grid: PowerGrid, pumps: tuple[Pump, ...], facilities: tuple[Facility, ...],
                 stations: tuple[Station, ...], meta: dict[str, object]) -> None:
        self.grid, self.pumps, self.facilities, self.stations, self.meta = grid, pumps, facilities, stations, meta


def _pressure_zones(water: WaterNetwork, elev: np.ndarray, quantile: float) -> list[np.ndarray]:
    n = len(elev)
    wet = np.zeros(n, bool)
    wet[water.u] = True
    wet[water.v] = True
    nodes = np.nonzero(wet)[0]
    if len(nodes) == 0 or quantile >= 1:
        return []
    high = np.zeros(n, bool)
    high[nodes[elev[nodes] >= np.quantile(elev[nodes], quantile)]] = True
    for src in water.sources:  # a plant is never lifted by a pump
        high[src] = False
    keep = high[water.u] & high[water.v]
    g = coo_matrix((np.ones(int(keep.sum())), (water.u[keep], water.v[keep])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    pieces = []
    for label in np.unique(lab[high]):
        members = np.nonzero(high & (lab == label))[0]
        if len(members) >= 3:  # lone high nodes stay on the mains' pressure
            pieces.append(members)
    pieces.sort(key=lambda m: int(m.min()))
    return pieces


def build_power(cfg: CityConfig, roads: Roads, zones: tuple[Zone, ...], highrises: tuple[HighRise, ...],
                customers: np.ndarray, water: WaterNetwork, candidates: np.ndarray,
                part: Parts) -> PowerParts:
    """Substations, feeders, pump stations, hospitals, depots and elevator centres (each sited from its
    own generator, ``part(name)``: a depot count leaves the substations and hospitals where they were)."""
    pc = cfg.power
    x, y = roads.x_m, roads.y_m
    nz = node_zones(roads, zones)
    weight = customers.astype(float) if customers.sum() > 0 else np.ones(len(x))
    population = sum(z.population for z in zones)
    k = max(1, int(np.ceil(population / pc.people_per_substation)))
    k = min(k, len(candidates))
    if pc.substation_nodes is not None:
        from sim.config import ConfigError

        if not pc.substation_nodes:
            raise ConfigError("city.power.substation_nodes", "an empty list leaves the city without power; use null")
        for i, node in enumerate(pc.substation_nodes):
            if not 0 <= int(node) < roads.n_nodes:
                raise ConfigError(f"city.power.substation_nodes[{i}]",
                                  f"node {node} does not exist (the city has nodes 0..{roads.n_nodes - 1})")
        sub_nodes = sorted(int(n) for n in pc.substation_nodes)
    else:
        sub_nodes = sorted(kmeans_sites(x, y, weight, candidates, k, part("power.substations")))
    substations = tuple(Substation(f"S{i}", int(node), pc.flood_threshold_m)
                        for i, node in enumerate(sub_nodes, start=1))
    sx, sy = x[sub_nodes], y[sub_nodes]
    feeders = []
    for z in zones:
        s = int(np.argmin((sx - z.x_m) ** 2 + (sy - z.y_m) ** 2))
        feeders.append(Feeder(f"F{z.id}", substations[s].id, z.id, int(z.households)))

    pumps = []
    for i, members in enumerate(_pressure_zones(water, roads.elev_m, pc.pressure_zone_quantile), start=1):
        at = int(members[np.argmin(roads.elev_m[members])])
        pumps.append(Pump(f"PS{i}", at, zones[int(nz[at])].id if zones else "", tuple(int(m) for m in members)))

    facilities = []
    if pc.n_hospitals > 0 and zones:
        for i, node in enumerate(sorted(kmeans_sites(x, y, weight, candidates, min(pc.n_hospitals, len(candidates)),
                                                     part("power.hospitals"))), start=1):
            facilities.append(Facility(f"H{i}", "hospital", int(node), zones[int(nz[node])].id,
                                       f"Hospital {i}", pc.hospital_backup_h))

    stations = []
    if pc.n_power_depots > 0:
        for i, node in enumerate(sorted(kmeans_sites(x, y, weight, candidates,
                                                     min(pc.n_power_depots, len(candidates)),
                                                     part("stations.power_depot"))), start=1):
            sid = f"PD{i:02d}"
            specs = tuple(UnitSpec(f"{sid}.C{j}", "power_crew", sid) for j in range(1, pc.crews_per_power_depot + 1))
            stations.append(Station(sid, "power_depot", int(node), f"Power depot {i}", specs))
    if pc.n_elevator_centres > 0:
        for i, node in enumerate(sorted(kmeans_sites(x, y, weight, candidates,
                                                     min(pc.n_elevator_centres, len(candidates)),
                                                     part("stations.elevator_centre"))), start=1):
            sid = f"EC{i:02d}"
            specs = tuple(UnitSpec(f"{sid}.T{j}", "elevator_tech", sid)
                          for j in range(1, pc.techs_per_elevator_centre + 1))
            stations.append(Station(sid, "elevator_centre", int(node), f"Elevator emergency centre {i}", specs))
    meta: dict[str, object] = {
        "n_substations": len(substations), "n_feeders": len(feeders), "n_pumps": len(pumps),
        "n_lifted_nodes": int(sum(len(p.lifted) for p in pumps)), "n_hospitals": len(facilities),
    }
    return PowerParts(PowerGrid(substations, tuple(feeders)), tuple(pumps), tuple(facilities), tuple(stations), meta)


def build_gas(cfg: CityConfig, roads: Roads, zones: tuple[Zone, ...], customers: np.ndarray,
              is_express_node: np.ndarray, candidates: np.ndarray,
              part: Parts) -> tuple[WaterNetwork, tuple[tuple[str, int], ...], tuple[Station, ...]]:
    """The gas mains, the bottled-LPG users per zone, and the gas depot(s)."""
    import dataclasses

    from sim.city import Valve
    from sim.district_water import build_water

    gc = cfg.gas
    as_water = dataclasses.replace(cfg, water=dataclasses.replace(
        cfg.water, materials=dict(gc.materials), valve_spacing_links=gc.valve_spacing_links,
        install_year_min=gc.install_year_min, install_year_max=gc.install_year_max))
    piped = np.floor(customers * gc.piped_share).astype(np.int64)
    net = build_water(as_water, roads, piped, is_express_node, part("gas"))
    net = dataclasses.replace(
        net, pipe_ids=tuple(f"G{j + 1}" for j in range(net.n_pipes)),
        valves=tuple(Valve(f"GV{k + 1}", v.pipe, v.node) for k, v in enumerate(net.valves)))
    lpg = tuple((z.id, int(round(z.households * gc.lpg_share))) for z in zones)
    weight = customers.astype(float) if customers.sum() > 0 else np.ones(roads.n_nodes)
    stations = []
    for i, node in enumerate(sorted(kmeans_sites(roads.x_m, roads.y_m, weight, candidates,
                                                 min(gc.n_depots, len(candidates)), part("stations.gas_depot"))),
                             start=1):
        sid = f"GD{i:02d}"
        specs = tuple(UnitSpec(f"{sid}.C{j}", "gas_crew", sid) for j in range(1, gc.crews_per_depot + 1))
        stations.append(Station(sid, "gas_depot", int(node), f"Gas depot {i}", specs))
    return net, lpg, tuple(stations)
