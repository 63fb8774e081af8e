"""The embedded default city: one urban district of a Chinese megacity.

Generated deterministically from ``CityConfig`` and the run's ``city`` stream;
no data files. The shape, and where each default comes from:

* **Roads**: a jittered grid of local streets every ``block_m`` (old-city
  blocks of 100-200 m), every ``arterial_every``-th street an arterial
  (~800 m grid), an elevated expressway with interchanges every ~1.5 km, a
  few local links dropped so it is not a perfect grid. Speeds are
  emergency-vehicle free-flow speeds by class (DOMAIN.md 2.3: 30-35 km/h urban).
* **River**: a band ``width_m`` wide that no street crosses except
  ``n_bridges`` arterial bridges, the expressway (a viaduct: every deck link
  is a bridge) and ``n_tunnels`` tunnels: the banks are joined only there.
* **Underpasses**: arterial links passing under the expressway (and, if more
  are asked for, under a railway); their ends sit 3.5 m below the street.
* **Elevation**: base + smooth relief + ``n_basins`` Gaussian depressions
  (low-lying basins, waterlogging candidates) + lower river banks.
* **Zones** (街道): Voronoi cells of random seed nodes; population split by
  random weights summing exactly to ``population``; households from the 2020
  census mean household size (2.62).
* **Fire stations**: GB 51080-2015 §4.1.3 sites stations so that a unit reaches
  its area's edge within 5 min of the dispatch order; turnout counts against
  it, so travel <= ``coverage_s - turnout_s``. Greedy maximum coverage over
  arterial candidate nodes until ``coverage_target`` of nodes is covered.
  建标152-2017 Art. 14 (<= 7 km² per first-class station) is not imposed: the
  default district (56 km²) gets 6 stations, about 9 km² each, from the 5-min rule.
* **Ambulances**: one per 30,000 people (the Beijing/Shanghai planning ratio,
  DOMAIN.md 2.4) over ``n_stations`` stations placed by population-weighted
  k-means.
* **Water** (:mod:`sim.district_water`): mains under every street, two
  treatment plants, valves after the Ten States Standards spacing.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.city import City, HighRise, Roads, Station, UnitSpec, Zone
from sim.config import CityConfig, ConfigError
from sim.district_water import build_water
from sim.rng import parts_of
from sim.siting import fire_coverage, kmeans_sites, site_fire_stations, travel_graph

__all__ = ["build_district", "fire_coverage", "kmeans_sites", "site_fire_stations", "travel_graph"]

_ZONE_NAMES = (
    "Ninghai", "Huaqiao", "Hunan Road", "Fenghuang", "Jiangdong", "Mochou", "Yijiangmen", "Baotaqiao",
    "Rehe Road", "Jianning", "Xiaoshi", "Caochangmen", "Zhongyangmen", "Xuanwumen", "Shanxi Road", "Qinghe",
)
#: Nanjing's eleven districts (区), for the zones of a multi-district city.
_DISTRICT_NAMES = (
    "Xuanwu", "Qinhuai", "Jianye", "Gulou", "Pukou", "Qixia", "Yuhuatai", "Jiangning", "Luhe", "Lishui", "Gaochun",
)
EXPRESSWAY, ARTERIAL, LOCAL = 0, 1, 2


def _components(n: int, u: np.ndarray, v: np.ndarray) -> tuple[int, np.ndarray]:
    g = coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    return connected_components(g, directed=False)


def _graph(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray):  # noqa: ANN202 - csr
    # Parallel arcs are summed by the sparse constructor; the grid has none.
    return coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))),
                      shape=(n, n)).tocsr()


def _grid(cfg: CityConfig, rng: np.random.Generator) -> dict[str, np.ndarray]:
    w_m, h_m, b = cfg.width_km * 1000.0, cfg.height_km * 1000.0, cfg.block_m
    nx_, ny_ = int(round(w_m / b)) + 1, int(round(h_m / b)) + 1
    grid_c, grid_r = np.meshgrid(np.arange(nx_), np.arange(ny_))
    cols, rows = grid_c.ravel(), grid_r.ravel()
    x = cols * b + rng.uniform(-0.15, 0.15, cols.size) * b
    y = rows * b + rng.uniform(-0.15, 0.15, rows.size) * b
    x = np.clip(x, 0, w_m)
    y = np.clip(y, 0, h_m)
    idx = rows * nx_ + cols
    # Street links: along rows (horizontal) and along columns (vertical).
    hu, hv = idx[cols < nx_ - 1], idx[cols < nx_ - 1] + 1
    vu, vv = idx[rows < ny_ - 1], idx[rows < ny_ - 1] + nx_
    h_art = rows[cols < nx_ - 1] % cfg.arterial_every == 0
    v_art = cols[rows < ny_ - 1] % cfg.arterial_every == 0
    u = np.concatenate([hu, vu])
    v = np.concatenate([hv, vv])
    cls = np.where(np.concatenate([h_art, v_art]), ARTERIAL, LOCAL)
    return {"x": x, "y": y, "rows": rows, "cols": cols, "u": u, "v": v, "cls": cls,
            "nx": np.array(nx_), "ny": np.array(ny_)}


def build_district(cfg: CityConfig, rng: np.random.Generator) -> City:
    g = _grid(cfg, rng)
    x, y, rows = g["x"], g["y"], g["rows"]
    u, v, cls = g["u"], g["v"], g["cls"]
    nx_, ny_ = int(g["nx"]), int(g["ny"])
    b = cfg.block_m
    h_m, w_m = cfg.height_km * 1000.0, cfg.width_km * 1000.0
    bridge = np.zeros(len(u), bool)
    tunnel = np.zeros(len(u), bool)

    # --- river: drop the rows inside the band; rejoin banks at crossings only.
    keep_node = np.ones(len(x), bool)
    river_rows: np.ndarray = np.zeros(0, int)
    if cfg.river.enabled:
        y_r = cfg.river.position * h_m
        half = cfg.river.width_m / 2.0
        river_rows = np.unique(rows[np.abs(rows * b - y_r) < half + 0.2 * b])
        if len(river_rows) == 0:
            river_rows = np.array([int(round(y_r / b))])
        keep_node &= ~np.isin(rows, river_rows)
    ok = keep_node[u] & keep_node[v]
    u, v, cls, bridge, tunnel = u[ok], v[ok], cls[ok], bridge[ok], tunnel[ok]

    # --- drop ~5 % of local links, keeping the grid connected.
    n_all = len(x)
    drop = (cls == LOCAL) & (rng.random(len(u)) < 0.05)
    crossings_u: list[int] = []
    crossings_v: list[int] = []
    crossing_kind: list[str] = []
    if cfg.river.enabled:
        lo, hi = int(river_rows.min()) - 1, int(river_rows.max()) + 1
        art_cols = np.arange(0, nx_, cfg.arterial_every)
        inner = art_cols[(art_cols > 0) & (art_cols < nx_ - 1)]
        if len(inner) == 0:
            inner = np.array([nx_ // 2])
        nb = min(cfg.river.n_bridges, len(inner))
        b_cols = inner[np.linspace(0, len(inner) - 1, nb).round().astype(int)] if nb else np.zeros(0, int)
        t_pool = np.setdiff1d(np.arange(1, nx_ - 1), np.concatenate([b_cols, art_cols]))
        t_cols = rng.choice(t_pool, size=min(cfg.river.n_tunnels, len(t_pool)), replace=False)
        for c in b_cols:
            crossings_u.append(lo * nx_ + int(c))
            crossings_v.append(hi * nx_ + int(c))
            crossing_kind.append("bridge")
        for c in np.sort(t_cols):
            crossings_u.append(lo * nx_ + int(c))
            crossings_v.append(hi * nx_ + int(c))
            crossing_kind.append("tunnel")
    cu = np.array(crossings_u, dtype=np.int64)
    cv = np.array(crossings_v, dtype=np.int64)
    live = ~drop
    # Re-add dropped links that join separate pieces (with the crossings in).
    for _ in range(20):
        nc, lab = _components(n_all, np.concatenate([u[live], cu]), np.concatenate([v[live], cv]))
        alive_nodes = keep_node
        if len(np.unique(lab[alive_nodes])) <= 1:
            break
        fix = drop & (lab[u] != lab[v]) & ~live
        if not fix.any():
            break
        live |= fix
    u, v, cls, bridge, tunnel = u[live], v[live], cls[live], bridge[live], tunnel[live]
    u = np.concatenate([u, cu])
    v = np.concatenate([v, cv])
    cls = np.concatenate([cls, np.full(len(cu), ARTERIAL)])
    bridge = np.concatenate([bridge, np.array([k == "bridge" for k in crossing_kind], bool)])
    tunnel = np.concatenate([tunnel, np.array([k == "tunnel" for k in crossing_kind], bool)])

    # --- expressway: elevated nodes over a column, ramps every ~1.5 km.
    ex_nodes_x: list[float] = []
    ex_nodes_y: list[float] = []
    ex_links: list[tuple[int, int, bool]] = []  # (a, b, is_ramp) in extended indices
    ramps_every = max(int(round(1500.0 / b)), 1)
    exp_cols: list[int] = []
    for k in range(cfg.n_expressways):
        c = int(round((k + 1) * nx_ / (cfg.n_expressways + 1)))
        if c % cfg.arterial_every == 0:
            c += 2
        c = min(max(c, 1), nx_ - 2)
        exp_cols.append(c)
        prev = -1
        for r in range(ny_):
            node = n_all + len(ex_nodes_x)
            ex_nodes_x.append(float(c * b))
            ex_nodes_y.append(float(r * b))
            if prev >= 0:
                ex_links.append((prev, node, False))
            prev = node
            grid_node = r * nx_ + c
            if r % ramps_every == 0 and keep_node[grid_node]:
                ex_links.append((node, grid_node, True))
    ew_rows = _ew_expressways(cfg, nx_, ny_, river_rows, keep_node, exp_cols, n_all, ramps_every,
                              ex_nodes_x, ex_nodes_y, ex_links)
    n = n_all + len(ex_nodes_x)
    x = np.concatenate([x, ex_nodes_x])
    y = np.concatenate([y, ex_nodes_y])
    keep_node = np.concatenate([keep_node, np.ones(len(ex_nodes_x), bool)])
    if ex_links:
        eu = np.array([a for a, _, _ in ex_links])
        ev = np.array([b_ for _, b_, _ in ex_links])
        ramp = np.array([r_ for _, _, r_ in ex_links])
        u = np.concatenate([u, eu])
        v = np.concatenate([v, ev])
        cls = np.concatenate([cls, np.where(ramp, ARTERIAL, EXPRESSWAY)])
        # The deck is an elevated viaduct: a bridge along its whole length (as OpenStreetMap tags
        # viaducts, bridge=yes), so no water stands on it; its ramps come down to the street.
        bridge = np.concatenate([bridge, ~ramp])
        tunnel = np.concatenate([tunnel, np.zeros(len(eu), bool)])

    # --- renumber to drop the river nodes.
    new_id = -np.ones(n, dtype=np.int64)
    new_id[keep_node] = np.arange(int(keep_node.sum()))
    x, y = x[keep_node], y[keep_node]
    u, v = new_id[u], new_id[v]
    n = len(x)
    length = np.hypot(x[u] - x[v], y[u] - y[v])
    length = np.maximum(length, 1.0)
    speeds = np.array([cfg.speed_kmh["expressway"], cfg.speed_kmh["arterial"], cfg.speed_kmh["local"]])
    speed = speeds[cls]
    is_express_node = np.zeros(n, bool)
    is_express_node[n - len(ex_nodes_x):] = True

    # --- underpasses: arterial street links passing under the expressway first.
    grid_link = ~is_express_node[u] & ~is_express_node[v] & ~bridge & ~tunnel
    candidates = []
    for c in exp_cols:
        xc = c * b
        under = grid_link & (cls == ARTERIAL) & (np.minimum(x[u], x[v]) < xc) & (np.maximum(x[u], x[v]) >= xc - 1)
        candidates.extend(np.nonzero(under)[0].tolist())
    for r in ew_rows:
        yc = r * b
        under = grid_link & (cls == ARTERIAL) & (np.minimum(y[u], y[v]) < yc) & (np.maximum(y[u], y[v]) >= yc - 1)
        candidates.extend(np.nonzero(under)[0].tolist())
    others = np.nonzero(grid_link & (cls == ARTERIAL))[0]
    others = others[~np.isin(others, candidates)]
    need = max(cfg.n_underpasses - len(candidates), 0)
    extra = rng.choice(others, size=min(need, len(others)), replace=False) if need else np.zeros(0, int)
    under_links = np.array(sorted(candidates)[: cfg.n_underpasses] + sorted(extra.tolist()), dtype=np.int64)
    underpass = np.zeros(len(u), bool)
    underpass[under_links] = True

    # --- elevation.
    e = cfg.elevation
    elev = np.full(n, e.base_m)
    for _ in range(3):
        kx, ky = rng.uniform(0.5, 1.5, 2) * 2 * np.pi / np.array([w_m, h_m])
        ph = rng.uniform(0, 2 * np.pi, 2)
        elev += e.relief_m / 3.0 * np.sin(kx * x + ph[0]) * np.cos(ky * y + ph[1])
    grid_nodes = np.nonzero(~is_express_node)[0]
    basin_centres = rng.choice(grid_nodes, size=min(e.n_basins, len(grid_nodes)), replace=False)
    for c in basin_centres:
        d2 = (x - x[c]) ** 2 + (y - y[c]) ** 2
        elev -= e.basin_depth_m * np.exp(-d2 / (2 * e.basin_radius_m**2))
    if cfg.river.enabled:
        elev -= 2.0 * np.exp(-np.abs(y - cfg.river.position * h_m) / 300.0)
    elev[np.unique(np.concatenate([u[under_links], v[under_links]]))] -= 3.5
    elev[is_express_node] += 0.0  # elevated deck: ground elevation below it
    basin_low = []
    for c in basin_centres:
        near = np.nonzero(((x - x[c]) ** 2 + (y - y[c]) ** 2 < e.basin_radius_m**2) & ~is_express_node)[0]
        basin_low.append(int(near[np.argmin(elev[near])]))

    roads = Roads(
        x_m=x, y_m=y, elev_m=np.round(elev, 3), u=u.astype(np.int64), v=v.astype(np.int64),
        length_m=length, speed_kmh=speed.astype(float), road_class=cls.astype(np.int64),
        oneway=np.zeros(len(u), bool), bridge=bridge, tunnel=tunnel, underpass=underpass,
    )

    # --- zones, households, high-rises.
    zone_seeds = rng.choice(grid_nodes_new := np.nonzero(~is_express_node)[0], size=cfg.n_zones, replace=False)
    node_zone = -np.ones(n, dtype=np.int64)
    zsx, zsy = x[zone_seeds][None, :], y[zone_seeds][None, :]
    for c0 in range(0, len(grid_nodes_new), 8192):  # in chunks: nodes x zones may be large
        gn = grid_nodes_new[c0:c0 + 8192]
        node_zone[gn] = np.argmin((x[gn, None] - zsx) ** 2 + (y[gn, None] - zsy) ** 2, axis=1)
    weights = rng.dirichlet(np.full(cfg.n_zones, 6.0))
    pops = np.floor(weights * cfg.population).astype(np.int64)
    pops[np.argmax(weights)] += cfg.population - int(pops.sum())
    area_total = cfg.width_km * cfg.height_km
    customers = np.zeros(n, dtype=np.int64)
    zones: list[Zone] = []
    highrises: list[HighRise] = []
    hr_count = 0
    # Members of every zone from one stable sort (ascending node ids within a zone, as np.nonzero gives).
    by_zone = np.argsort(node_zone, kind="stable")
    zone_start = np.searchsorted(node_zone[by_zone], np.arange(cfg.n_zones + 1))
    for k in range(cfg.n_zones):
        members = by_zone[zone_start[k]:zone_start[k + 1]]
        hh = int(round(pops[k] / cfg.household_size))
        cx, cy = float(x[members].mean()), float(y[members].mean())
        centre = int(members[np.argmin((x[members] - cx) ** 2 + (y[members] - cy) ** 2)])
        share = rng.gamma(2.0, size=len(members))
        customers[members] += rng.multinomial(hh, share / share.sum())
        zones.append(Zone(
            id=f"Z{k + 1:02d}", name=_zone_name(k), node=centre,
            x_m=round(cx, 1), y_m=round(cy, 1), area_km2=round(area_total * len(members) / len(grid_nodes_new), 3),
            population=int(pops[k]), households=hh, water_node=centre,
        ))
        n_hr = int(round(cfg.highrise_share * hh / max(cfg.highrise_households, 1)))
        sites = rng.choice(members, size=n_hr, p=(share / share.sum()))
        floors = rng.integers(18, 34, size=n_hr)
        for s, f in zip(sites, floors, strict=True):
            hr_count += 1
            highrises.append(HighRise(id=f"HR{hr_count:04d}", zone=zones[-1].id, node=int(s), floors=int(f),
                                      households=cfg.highrise_households, height_m=3.0 * float(f)))

    # --- stations and lifelines: each part draws from its own generator (sim.rng.parts_of), so a
    # station count or a lifeline setting changes that part only.
    part = parts_of(rng)
    graph = _graph(n, roads.u, roads.v, roads.travel_time_s())
    art_nodes = np.unique(np.concatenate([u[(cls == ARTERIAL) & grid_link], v[(cls == ARTERIAL) & grid_link]]))
    fire_nodes = _explicit(cfg.fire.station_nodes, n, "city.fire.station_nodes")
    coverage = None
    if fire_nodes is None:
        fire_nodes, coverage = site_fire_stations(graph, art_nodes, cfg, is_express_node, xy=(x, y),
                                                  max_speed_kmh=float(speed.max()))
    amb_nodes = _explicit(cfg.ambulance.station_nodes, n, "city.ambulance.station_nodes")
    if amb_nodes is None:
        amb_nodes = kmeans_sites(x, y, customers, art_nodes, cfg.ambulance.n_stations, part("stations.ambulance"))
    stations: list[Station] = []
    for i, node in enumerate(fire_nodes, start=1):
        sid = f"FS{i:02d}"
        specs = [UnitSpec(f"{sid}.E{j}", "engine", sid) for j in range(1, cfg.fire.engines_per_station + 1)]
        specs += [UnitSpec(f"{sid}.L{j}", "ladder", sid) for j in range(1, cfg.fire.ladders_per_station + 1)]
        specs += [UnitSpec(f"{sid}.R{j}", "rescue", sid) for j in range(1, cfg.fire.rescue_per_station + 1)]
        stations.append(Station(sid, "fire", int(node), f"Fire station {i}", tuple(specs)))
    n_amb = int(np.ceil(cfg.population / cfg.ambulance.people_per_ambulance))
    per = np.full(len(amb_nodes), n_amb // max(len(amb_nodes), 1))
    per[: n_amb - int(per.sum())] += 1
    for i, (node, k) in enumerate(zip(amb_nodes, per, strict=True), start=1):
        sid = f"AS{i:02d}"
        specs = [UnitSpec(f"{sid}.A{j}", "ambulance", sid) for j in range(1, int(k) + 1)]
        stations.append(Station(sid, "ambulance", int(node), f"Ambulance station {i}", tuple(specs)))
    depot_nodes = kmeans_sites(x, y, customers, art_nodes, cfg.water.n_depots, part("stations.water_depot"))
    for i, node in enumerate(depot_nodes, start=1):
        sid = f"WD{i:02d}"
        specs = [UnitSpec(f"{sid}.C{j}", "water_crew", sid) for j in range(1, cfg.water.crews_per_depot + 1)]
        stations.append(Station(sid, "water_depot", int(node), f"Water depot {i}", tuple(specs)))

    water = build_water(cfg, roads, customers, is_express_node, part("water"))
    zones = _group_districts(zones, cfg.n_districts, part("districts"))
    power = None
    facilities: tuple = ()
    power_meta: dict[str, object] = {}
    if cfg.power.enabled:
        from sim.district_power import build_power

        parts = build_power(cfg, roads, tuple(zones), tuple(highrises), customers, water, art_nodes, part)
        water = dataclasses.replace(water, pumps=parts.pumps)
        power, facilities, power_meta = parts.grid, parts.facilities, parts.meta
        stations += list(parts.stations)
    gas = None
    lpg: tuple[tuple[str, int], ...] = ()
    if cfg.gas.enabled:
        from sim.district_power import build_gas

        gas, lpg, gas_stations = build_gas(cfg, roads, tuple(zones), customers, is_express_node, art_nodes, part)
        stations += list(gas_stations)
        power_meta.update(n_gas_pipes=gas.n_pipes, n_gas_valves=len(gas.valves),
                          gas_customers=int(gas.customers.sum()), lpg_users=sum(k for _, k in lpg))
    meta: dict[str, object] = {
        "area_km2": round(area_total, 3), "n_nodes": n, "n_links": roads.n_links,
        "n_fire_stations": len(fire_nodes), "fire_coverage": None if coverage is None else round(coverage, 4),
        "n_ambulances": n_amb, "n_pipes": water.n_pipes, "n_valves": len(water.valves),
        "n_highrises": len(highrises), "basin_low_nodes": " ".join(map(str, basin_low)),
        **power_meta,
    }
    if cfg.n_districts > 1:
        meta["n_districts"] = cfg.n_districts
        meta["n_zones"] = len(zones)
    return City(name=cfg.name, roads=roads, zones=tuple(zones), highrises=tuple(highrises),
                stations=tuple(stations), water=water, meta=meta, power=power, facilities=facilities,
                gas=gas, lpg_users=lpg)


def _ew_expressways(cfg: CityConfig, nx_: int, ny_: int, river_rows: np.ndarray, keep_node: np.ndarray,
                    exp_cols: list[int], n_all: int, ramps_every: int, ex_x: list[float], ex_y: list[float],
                    ex_links: list[tuple[int, int, bool]]) -> list[int]:
    """East-west expressways (appended to ``ex_*`` in place); returns their grid rows.

    Each runs along a grid row clear of the river, with ramps every
    ``ramps_every`` columns and an interchange where it crosses a
    north-south expressway (whose node on that row sits at
    ``n_all + i * ny_ + row``).
    """
    b = cfg.block_m
    rows: list[int] = []
    for k in range(cfg.n_expressways_ew):
        r = int(round((k + 1) * ny_ / (cfg.n_expressways_ew + 1)))
        if r % cfg.arterial_every == 0:
            r += 2
        if len(river_rows) and int(river_rows.min()) - 2 <= r <= int(river_rows.max()) + 2:
            r = int(river_rows.min()) - 3  # run along the near bank instead
        r = min(max(r, 1), ny_ - 2)
        if r in rows:
            continue
        rows.append(r)
        prev = -1
        for c in range(nx_):
            node = n_all + len(ex_x)
            ex_x.append(float(c * b))
            ex_y.append(float(r * b))
            if prev >= 0:
                ex_links.append((prev, node, False))
            prev = node
            if c % ramps_every == 0 and keep_node[r * nx_ + c]:
                ex_links.append((node, r * nx_ + c, True))
            if c in exp_cols:
                ex_links.append((n_all + exp_cols.index(c) * ny_ + r, node, False))
    return rows


def _zone_name(k: int) -> str:
    base = _ZONE_NAMES[k % len(_ZONE_NAMES)]
    return f"{base} Subdistrict" if k < len(_ZONE_NAMES) else f"{base} {k // len(_ZONE_NAMES) + 1} Subdistrict"


def _group_districts(zones: list[Zone], n_districts: int, rng: np.random.Generator) -> list[Zone]:
    """Group zones into ``n_districts`` districts: Voronoi cells of random zone centres."""
    if n_districts <= 1:
        return zones
    zx = np.array([z.x_m for z in zones])
    zy = np.array([z.y_m for z in zones])
    seeds = np.sort(rng.choice(len(zones), size=n_districts, replace=False))
    lab = np.argmin((zx[:, None] - zx[seeds][None, :]) ** 2 + (zy[:, None] - zy[seeds][None, :]) ** 2, axis=1)
    names = [_DISTRICT_NAMES[i % len(_DISTRICT_NAMES)] + ("" if i < len(_DISTRICT_NAMES) else f" {i + 1}")
             for i in range(n_districts)]
    return [dataclasses.replace(z, district=names[int(d)]) for z, d in zip(zones, lab, strict=True)]


def _explicit(nodes: list[int] | None, n: int, key: str) -> list[int] | None:
    if nodes is None:
        return None
    seen: set[int] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, int) or not 0 <= node < n:
            raise ConfigError(f"{key}[{i}]", f"node {node} does not exist (the district has nodes 0..{n - 1})")
        if node in seen:
            raise ConfigError(f"{key}[{i}]", f"node {node} is listed twice")
        seen.add(node)
    if not nodes:
        raise ConfigError(key, "an empty list leaves the city without stations; use null for automatic siting")
    return list(nodes)
