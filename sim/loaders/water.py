"""An EPANET model as the city's :class:`~sim.city.WaterNetwork`.

The city's water nodes are road nodes, so the model's nodes are put into the
road graph's node space:

* **Pumps and valves are points.** The two ends of every pump and of every
  EPANET valve are merged into one node (a pump station, a valve chamber), so
  water passes them as it does in normal operation. A valve of the file
  (PRV, TCV, ... whatever its type) becomes an isolation valve where it
  stood: on the mains leaving its downstream end.
* **Roads from the mains** (only ``city.water_file``): a street along every
  pipe, as long as the pipe; arterial under mains of 300 mm and more, local
  otherwise (``meta["generated"]`` says ``roads``).
* **Snapped onto roads** (both files): every water node goes to the nearest
  road node, after its coordinates are put into the roads' frame
  (``city.water_align``): ``none``, they already are (lon/lat are projected
  with the roads' origin); ``bbox``, scaled and moved so that their bounding
  box sits centred in the roads' one (a synthetic placement, for a model
  whose drawing has no real coordinates); ``auto``, ``none`` when half the
  water network's box lies in the roads' one and it is at least a twentieth
  of its size, else ``bbox``. A pipe runs under the road link
  between its two road nodes when there is one; else under the link nearest
  its middle when that lies within half its span; else under none
  (``road_link`` -1: a burst there closes no street).
* **Customers** at a node are its junctions' demand (m³/day, positive only)
  over ``city.water_m3_per_customer_day`` (0.5 m³/day: ~180 L a person a day
  for a household of 2.6), rounded.
* **Sources**: reservoirs and tanks (a tank feeds its area for the hours of a
  repair).
* **Valves**: the file's, plus with ``city.water_valves=strategic`` the N-1
  layer of :func:`sim.loaders.lifelines.strategic_valves` (an EPANET model
  seldom holds its isolation valves).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from sim.city import Valve, WaterNetwork
from sim.config import CityConfig
from sim.loaders.epanet import EpanetModel
from sim.loaders.geo import looks_like_degrees, project_lonlat
from sim.loaders.lifelines import materials_by_age, strategic_valves
from sim.loaders.roads import ARTERIAL, LOCAL, LoadedRoads, RoadTable
from sim.loaders.source import fail

__all__ = ["align", "merge_points", "roads_from_model", "water_from_model"]


def merge_points(m: EpanetModel) -> np.ndarray:
    """Group of each model node once pump and valve ends are merged (groups numbered by first node)."""
    parent = list(range(m.n_nodes))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for link in m.pumps + m.valves:
        ra, rb = find(link.a), find(link.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(m.n_nodes)])
    _, group = np.unique(roots, return_inverse=True)
    return group.astype(np.int64)


def _group_xy(m: EpanetModel, group: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.array(m.x, dtype=float), np.array(m.y, dtype=float)
    n_g = int(group.max()) + 1
    gx, gy = np.full(n_g, np.nan), np.full(n_g, np.nan)
    for i in range(m.n_nodes - 1, -1, -1):  # the first member with coordinates wins
        if np.isfinite(x[i]):
            gx[group[i]], gy[group[i]] = x[i], y[i]
    missing = np.nonzero(~np.isfinite(gx[group]))[0]
    if len(missing):
        k = int(missing[0])
        fail(key, m.path, f"{m.node_kind[k]} {m.node_ids[k]} has no [COORDINATES] entry "
                          f"({len(missing)} node(s) without coordinates)", m.node_line[k])
    return gx, gy


def roads_from_model(m: EpanetModel, group: np.ndarray, key: str) -> RoadTable:
    """A street along every main (module notes); nodes are the merged groups."""
    gx, gy = _group_xy(m, group, key)
    n_g = len(gx)
    first = np.full(n_g, -1)
    for i in range(m.n_nodes - 1, -1, -1):
        first[group[i]] = i
    best: dict[tuple[int, int], int] = {}
    for j, p in enumerate(m.pipes):
        a, b = int(group[p.a]), int(group[p.b])
        pair = (min(a, b), max(a, b))
        if a != b and (pair not in best or p.length_m < m.pipes[best[pair]].length_m):
            best[pair] = j
    rows = sorted(best.values())
    pipes = [m.pipes[j] for j in rows]
    return RoadTable(
        path=m.path, key=key, fmt="epanet", node_ids=[m.node_ids[i] for i in first],
        node_line=np.array([m.node_line[i] for i in first], dtype=np.int64), x=gx, y=gy,
        u=np.array([group[p.a] for p in pipes], dtype=np.int64), v=np.array([group[p.b] for p in pipes], dtype=np.int64),
        length_m=np.array([p.length_m for p in pipes]), speed_kmh=np.full(len(pipes), np.nan),
        road_class=np.array([ARTERIAL if p.diameter_mm >= 300.0 else LOCAL for p in pipes], dtype=np.int64),
        two_way=np.ones(len(pipes), bool), line=np.array([p.line for p in pipes], dtype=np.int64),
        elev_m=np.array([m.elev_m[i] for i in first]),
    )


def _overlap(ax: np.ndarray, ay: np.ndarray, bx: np.ndarray, by: np.ndarray) -> float:
    """Share of the bounding box of ``a`` that lies inside the bounding box of ``b``."""
    ox = max(0.0, min(bx.max(), ax.max()) - max(bx.min(), ax.min()))
    oy = max(0.0, min(by.max(), ay.max()) - max(by.min(), ay.min()))
    return ox * oy / max(float(np.ptp(ax)) * float(np.ptp(ay)), 1e-9)


def align(m: EpanetModel, group: np.ndarray, loaded: LoadedRoads, cfg: CityConfig, key: str,
          meta: dict[str, object]) -> np.ndarray:
    """Road node of each group: coordinates into the roads' frame (module notes), then the nearest node."""
    gx, gy = _group_xy(m, group, key)
    r = loaded.roads
    how = cfg.water_align
    if "geo_origin_lon" in loaded.meta and how != "bbox" and looks_like_degrees(gx, gy):
        origin = (float(str(loaded.meta["geo_origin_lon"])), float(str(loaded.meta["geo_origin_lat"])))
        px, py, _, _ = project_lonlat(gx, gy, origin)
        if how == "none" or _overlap(px, py, r.x_m, r.y_m) >= 0.5:
            gx, gy, how = px, py, "none"
    if how == "auto":
        extent = np.hypot(np.ptp(gx), np.ptp(gy)) / max(float(np.hypot(np.ptp(r.x_m), np.ptp(r.y_m))), 1e-9)
        how = "none" if _overlap(gx, gy, r.x_m, r.y_m) >= 0.5 and extent >= 0.05 else "bbox"
    box = (r.x_m.min(), r.y_m.min(), r.x_m.max(), r.y_m.max())
    if how == "bbox":
        s = min((box[2] - box[0]) / max(float(np.ptp(gx)), 1e-9), (box[3] - box[1]) / max(float(np.ptp(gy)), 1e-9))
        gx = (gx - (gx.min() + gx.max()) / 2) * s + (box[0] + box[2]) / 2
        gy = (gy - (gy.min() + gy.max()) / 2) * s + (box[1] + box[3]) / 2
        meta["water_align_scale"] = round(float(s), 6)
    meta["water_align"] = how
    dist, node = cKDTree(np.column_stack([r.x_m, r.y_m])).query(np.column_stack([gx, gy]))
    meta["water_snap_max_m"] = round(float(dist.max()), 1)
    meta["water_snap_median_m"] = round(float(np.median(dist)), 1)
    return node.astype(np.int64)


def water_from_model(m: EpanetModel, group: np.ndarray, node_of_group: np.ndarray, loaded: LoadedRoads,
                     cfg: CityConfig, rng: np.random.Generator, key: str,
                     meta: dict[str, object]) -> tuple[WaterNetwork, list[str]]:
    """The WaterNetwork on road nodes; returns it and the parts generated (``valves``, ``pipe_ages``)."""
    r = loaded.roads
    node = node_of_group[group]  # road node of each model node (-1: dropped with its road piece)
    keep = [p for p in m.pipes if node[p.a] >= 0 and node[p.b] >= 0]
    if len(keep) < len(m.pipes):
        meta["water_pipes_dropped"] = len(m.pipes) - len(keep)
    if not keep:
        fail(key, m.path, "no pipe is left on the road graph")
    u = np.array([node[p.a] for p in keep], dtype=np.int64)
    v = np.array([node[p.b] for p in keep], dtype=np.int64)
    link_of: dict[tuple[int, int], int] = {}
    for k in np.argsort(-r.length_m, kind="stable"):  # the shortest of parallel links wins
        link_of[(min(int(r.u[k]), int(r.v[k])), max(int(r.u[k]), int(r.v[k])))] = int(k)
    road_link = np.array([link_of.get((min(a, b), max(a, b)), -1) if a != b else -1
                          for a, b in zip(u.tolist(), v.tolist(), strict=True)], dtype=np.int64)
    loose = np.nonzero((road_link < 0) & (u != v))[0]
    if len(loose):
        # A main between two road nodes that no single link joins: the street over it is the
        # link nearest its middle, when that lies within half the main's span.
        mid = np.column_stack([(r.x_m[r.u] + r.x_m[r.v]) / 2, (r.y_m[r.u] + r.y_m[r.v]) / 2])
        px, py = (r.x_m[u[loose]] + r.x_m[v[loose]]) / 2, (r.y_m[u[loose]] + r.y_m[v[loose]]) / 2
        dist, near = cKDTree(mid).query(np.column_stack([px, py]))
        span = np.hypot(r.x_m[u[loose]] - r.x_m[v[loose]], r.y_m[u[loose]] - r.y_m[v[loose]])
        road_link[loose] = np.where(dist <= 0.5 * span, near, -1)
    meta["water_pipes_under_roads"] = int((road_link >= 0).sum())
    material, year = materials_by_age(cfg, len(keep), rng, np.array([p.roughness for p in keep]))
    sources = sorted({int(node[i]) for i, k in enumerate(m.node_kind) if k != "junction" and node[i] >= 0})
    if not sources:
        fail(key, m.path, "no reservoir or tank is left on the road graph (no source)")
    demand = np.zeros(r.n_nodes)
    dem = np.maximum(np.array(m.demand_m3_day), 0.0)
    np.add.at(demand, node[node >= 0], dem[node >= 0])
    customers = np.rint(demand / cfg.water_m3_per_customer_day).astype(np.int64)
    valves: list[Valve] = []
    pipe_at: dict[int, list[int]] = {}
    for j, p in enumerate(keep):
        pipe_at.setdefault(p.a, []).append(j)
        pipe_at.setdefault(p.b, []).append(j)
    for val in m.valves:
        out = pipe_at.get(val.b, [])
        for k, j in enumerate(out, start=1):
            vid = val.id if len(out) == 1 else f"{val.id}-{k}"
            valves.append(Valve(id=vid, pipe=j, node=int(node[val.b])))
    generated = ["pipe_ages"]
    meta["n_valves_file"] = len(valves)
    if cfg.water_valves == "strategic":
        valves += strategic_valves(u, v, r.n_nodes, rng, {(vl.pipe, vl.node) for vl in valves}, "GV",
                                   {vl.id for vl in valves})
        generated.append("valves")
    meta.update(water_file=str(m.path), water_units=m.units, water_title=m.title,
                water_demand_m3_day=round(float(dem.sum()), 1), n_pumps=len(m.pumps),
                n_closed_pipes_left_out=m.n_closed_pipes, n_water_nodes=m.n_nodes)
    net = WaterNetwork(
        pipe_ids=tuple(p.id for p in keep), u=u, v=v, length_m=np.array([p.length_m for p in keep]),
        diameter_mm=np.array([p.diameter_mm for p in keep]), material=material, install_year=year,
        road_link=road_link, sources=tuple(sources), valves=tuple(valves), customers=customers,
    )
    return net, generated
