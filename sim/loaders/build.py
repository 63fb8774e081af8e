"""``city=from_files``: a :class:`~sim.city.City` from a road file, a water file, or both.

Data flow::

    city.roads_file  --graphml|tntp-->  RoadTable  --build_roads-->  Roads
    city.water_file  --epanet------->  EpanetModel --(no roads file: a street along each main)--^
                                            \\--snapped onto the roads--> WaterNetwork
    no water file: mains along the roads (sim.loaders.lifelines)
    zones, stations (and customers without a water file): sim.loaders.around

Whatever was not in the files is generated and ``meta["generated"]`` lists
it, space-separated: ``roads`` (streets laid along the mains), ``water``
(the whole water network), ``valves`` (the N-1 isolation-valve layer),
``pipe_ages`` (materials and install years, which EPANET does not hold),
``zones``, ``stations`` (sited, not given as ``station_nodes``),
``population`` (spread from ``city.population`` rather than from demands).
``summary.json`` copies it with the other scalar ``meta`` values.

Every problem with a file stops here, before anything runs, as a
:class:`~sim.config.ConfigError` naming the config key, the file and, where
there is one, the line; so does a loaded city that :func:`~sim.city.check_city`
rejects.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sim.city import City, check_city
from sim.config import CityConfig, ConfigError
from sim.loaders.around import make_stations, make_zones, spread_households
from sim.loaders.epanet import read_epanet
from sim.loaders.graphml import read_graphml
from sim.loaders.lifelines import main_links, water_along_roads
from sim.loaders.roads import LoadedRoads, RoadTable, build_roads
from sim.loaders.source import resolve
from sim.loaders.tntp import read_tntp
from sim.loaders.water import align, merge_points, roads_from_model, water_from_model

__all__ = ["build_from_files", "read_roads"]

log = logging.getLogger(__name__)


def _roads_format(cfg: CityConfig, path: Path) -> str:
    if cfg.roads_format != "auto":
        return cfg.roads_format
    name = path.name.lower()
    if name.endswith((".graphml", ".graphml.xml", ".xml")):
        return "graphml"
    if name.endswith(".tntp"):
        return "tntp"
    raise ConfigError("city.roads_format",
                      f"cannot tell the format of {path} from its name; set graphml (OSMnx) or tntp")


def read_roads(cfg: CityConfig) -> RoadTable:
    assert cfg.roads_file is not None
    path = resolve(cfg.roads_file)
    if _roads_format(cfg, path) == "graphml":
        return read_graphml(path, "city.roads_file")
    return read_tntp(path, "city.roads_file", cfg)


def build_from_files(cfg: CityConfig, rng: np.random.Generator) -> City:
    """Load the networks ``cfg`` names and generate what they lack (module notes)."""
    if not cfg.roads_file and not cfg.water_file:
        raise ConfigError("city.roads_file", "city=from_files needs city.roads_file or city.water_file (or both)")
    generated: list[str] = []
    meta: dict[str, object] = {}
    model = read_epanet(resolve(cfg.water_file), "city.water_file") if cfg.water_file else None
    group = merge_points(model) if model is not None else None
    if cfg.roads_file:
        loaded = build_roads(read_roads(cfg), cfg)
    else:
        assert model is not None and group is not None
        loaded = build_roads(roads_from_model(model, group, "city.water_file"), cfg)
        generated.append("roads")
    meta.update(loaded.meta)
    roads = loaded.roads
    if model is not None and group is not None:
        if cfg.roads_file:
            node_of_group = align(model, group, loaded, cfg, "city.water_file", meta)
        else:
            node_of_group = loaded.road_of
            loaded = _with_member_ids(loaded, model.node_ids, group)
        water, parts = water_from_model(model, group, node_of_group, loaded, cfg, rng, "city.water_file", meta)
        generated += parts
        customers = water.customers
        meta["population_source"] = "water demands"
    else:
        on_main = np.zeros(roads.n_nodes, bool)
        mains = main_links(roads)
        on_main[roads.u[mains]] = on_main[roads.v[mains]] = True
        customers = spread_households(cfg, roads.n_nodes, on_main, rng)
        water = water_along_roads(cfg, roads, customers, rng)
        customers = water.customers
        generated += ["water", "population"]
        meta["population_source"] = "city.population"
    zones = make_zones(cfg, roads, customers, rng)
    generated.append("zones")
    population = sum(z.population for z in zones)
    stations, sited = make_stations(cfg, loaded, customers, population, rng, meta)
    if sited:
        generated.append("stations")
    meta.update(n_pipes=water.n_pipes, n_valves=len(water.valves), households=int(customers.sum()),
                n_highrises=0, generated=" ".join(generated))
    city = City(name=cfg.name, roads=roads, zones=tuple(zones), highrises=(), stations=tuple(stations),
                water=water, meta=meta)
    try:
        check_city(city)
    except ValueError as exc:
        key, what = ("city.water_file", cfg.water_file) if cfg.water_file else ("city.roads_file", cfg.roads_file)
        raise ConfigError(key, f"{what}: {exc}") from None
    log.info("city from files: %d road nodes, %d links, %d pipes, %d valves; generated: %s",
             roads.n_nodes, roads.n_links, water.n_pipes, len(water.valves), meta["generated"])
    return city


def _with_member_ids(loaded: LoadedRoads, ids: list[str], group: np.ndarray) -> LoadedRoads:
    """Every model node id (not only each merged point's first) names its road node."""
    index = dict(loaded.index)
    for i, g in enumerate(group):
        road = int(loaded.road_of[g])
        if road >= 0:
            index.setdefault(ids[i], road)
    return LoadedRoads(loaded.roads, loaded.node_ids, index, loaded.road_of, loaded.link_rows, loaded.meta)
