"""From the links a road file lists to :class:`~sim.city.Roads`.

Each reader (GraphML, TNTP, or the streets laid along an EPANET model's
mains) fills a :class:`RoadTable`: the file's nodes with their ids and
coordinates, and its link rows, each a direction of travel (``two_way``
false) or a street open both ways. :func:`build_roads` then does what every
format needs, in this order:

1. **Coordinates to metres.** Lon/lat are projected on a local plane
   (:mod:`sim.loaders.geo`); a named unit is multiplied out; coordinates of
   unknown unit (schematic TNTP or EPANET drawings) are scaled so that the
   median link is as long as the straight line between its ends when they
   are off by more than 25 % (``meta["xy_scale"]``).
2. **Lengths** missing from the file are straight-line distances (at least 1 m).
3. **Speeds** (``city.roads_speed``): ``class``, the emergency-vehicle speed
   of the link's class (``city.speed_kmh``); ``file``, the file's free-flow
   speed where it has one; ``min``, the lower of the two.
4. **Directions.** A row ``a -> b`` and a row ``b -> a`` become one two-way
   link (mean length and speed); a row without its reverse stays one-way.
   Self-loops are dropped.
5. **Pieces.** Emergency units must reach every node and come back, so the
   graph must be strongly connected. ``city.roads_components``: ``auto``
   keeps the largest strongly connected piece when it holds at least 95 % of
   the nodes (cut-off stubs at the edge of an OSM extract) and stops
   otherwise; ``largest`` always keeps it; ``error`` never trims.
6. **Renumbering** to ``0 .. n-1``; the file's ids stay in
   :attr:`LoadedRoads.node_ids` for messages and explicit station nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.city import ROAD_CLASSES, Roads
from sim.config import CityConfig
from sim.loaders.geo import UNIT_M, fit_scale, looks_like_degrees, project_lonlat
from sim.loaders.source import fail

__all__ = ["LoadedRoads", "RoadTable", "build_roads", "class_by_speed"]

EXPRESSWAY, ARTERIAL, LOCAL = 0, 1, 2
_KEEP_SHARE = 0.95  # roads_components=auto trims at most 5 % of the nodes


@dataclass
class RoadTable:
    """Nodes and link rows as read from one file (coordinates still in the file's units)."""

    path: Path
    key: str  # the config key that named the file
    fmt: str  # graphml | tntp | epanet
    node_ids: list[str]
    node_line: np.ndarray  # (n,) int, line defining each node (0: unknown)
    x: np.ndarray  # (n,) float, file units
    y: np.ndarray
    u: np.ndarray  # (r,) int, row start node (index into node_ids)
    v: np.ndarray
    length_m: np.ndarray  # (r,) float; NaN: take the straight line
    speed_kmh: np.ndarray  # (r,) float; NaN: the file gives none
    road_class: np.ndarray  # (r,) int, index into ROAD_CLASSES
    two_way: np.ndarray  # (r,) bool: the row is a street open both ways
    line: np.ndarray  # (r,) int, line of each row (0: unknown)
    bridge: np.ndarray | None = None
    tunnel: np.ndarray | None = None
    elev_m: np.ndarray | None = None  # (n,) float
    xy: str = "unknown"  # deg | projected | unknown: what the file says its coordinates are
    crs: str = ""  # the file's CRS name, when it names one
    meta: dict[str, object] = field(default_factory=dict)

    def where(self, node: int) -> str:
        line = int(self.node_line[node])
        return f"node {self.node_ids[node]}" + (f" (line {line})" if line else "")


@dataclass(frozen=True)
class LoadedRoads:
    roads: Roads
    node_ids: tuple[str, ...]  # the file's id of each road node
    index: dict[str, int]  # file id -> road node
    road_of: np.ndarray  # (table nodes,) int: road node of each table node, -1 if dropped
    link_rows: tuple[tuple[int, ...], ...]  # table rows merged into each road link
    meta: dict[str, object]


def class_by_speed(speed_kmh: np.ndarray, default: int = ARTERIAL) -> np.ndarray:
    """Road class from a free-flow speed: >= 80 km/h expressway, >= 50 arterial, else local."""
    out = np.full(len(speed_kmh), default, dtype=np.int64)
    known = np.isfinite(speed_kmh)
    out[known] = np.where(speed_kmh[known] >= 80.0, EXPRESSWAY, np.where(speed_kmh[known] >= 50.0, ARTERIAL, LOCAL))
    return out


def _to_metres(t: RoadTable, cfg: CityConfig, meta: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    x, y = t.x.astype(float), t.y.astype(float)
    bad = np.nonzero(~np.isfinite(x) | ~np.isfinite(y))[0]
    if len(bad):
        fail(t.key, t.path, f"{t.where(bad[0])}: coordinates are not finite numbers", int(t.node_line[bad[0]]))
    unit = cfg.roads_xy_unit
    deg = unit == "deg" or (unit == "auto" and (t.xy == "deg" or (t.xy == "unknown" and looks_like_degrees(x, y))))
    if deg:
        out = np.nonzero((np.abs(x) > 180.0) | (np.abs(y) > 90.0))[0]
        if len(out):
            k = out[0]
            fail(t.key, t.path, f"{t.where(k)}: ({x[k]}, {y[k]}) is not a longitude/latitude pair",
                 int(t.node_line[k]))
        x, y, lon0, lat0 = project_lonlat(x, y)
        meta.update(crs="EPSG:4326", geo_origin_lon=lon0, geo_origin_lat=lat0,
                    geo_projection="equirectangular")
        return x, y
    if unit in UNIT_M:
        meta["crs"] = t.crs or "local"
        return x * UNIT_M[unit], y * UNIT_M[unit]
    if t.xy == "projected":
        meta["crs"] = t.crs or "local"
        return x, y
    meta["crs"] = "local"
    scale = fit_scale(x, y, t.u, t.v, t.length_m)
    if not 0.8 <= scale <= 1.25:
        # Schematic or non-metric coordinates: bring the drawing to the links' own scale.
        meta["xy_scale"] = round(scale, 6)
        x, y = x * scale, y * scale
    return x, y


def _speeds(t: RoadTable, cfg: CityConfig) -> np.ndarray:
    by_class = np.array([cfg.speed_kmh[c] for c in ROAD_CLASSES], dtype=float)[t.road_class]
    if cfg.roads_speed == "class":
        return by_class
    own = np.where(np.isfinite(t.speed_kmh) & (t.speed_kmh > 0), t.speed_kmh, np.nan)
    if cfg.roads_speed == "file":
        return np.where(np.isfinite(own), own, by_class)
    return np.fmin(own, by_class)


def _pair_directions(u: np.ndarray, v: np.ndarray, two_way: np.ndarray) -> list[tuple[int, ...]]:
    """Groups of rows that make one link: a two-way row alone, or a row with its reverse."""
    links: list[tuple[int, ...]] = []
    waiting: dict[tuple[int, int], list[int]] = {}
    for r in range(len(u)):
        if two_way[r]:
            links.append((r,))
            continue
        a, b = int(u[r]), int(v[r])
        back = waiting.get((b, a))
        if back:
            links[back.pop(0)] += (r,)
        else:
            waiting.setdefault((a, b), []).append(len(links))
            links.append((r,))
    return links


def _pieces(t: RoadTable, cfg: CityConfig, n: int, u: np.ndarray, v: np.ndarray, oneway: np.ndarray,
            on_link: np.ndarray, meta: dict[str, object]) -> np.ndarray:
    """Nodes to keep: all linked nodes, or the largest strongly connected piece (see the module notes)."""
    two = ~oneway
    src, dst = np.r_[u, v[two]], np.r_[v, u[two]]
    g = coo_matrix((np.ones(len(src)), (src, dst)), shape=(n, n)).tocsr()
    _, lab = connected_components(g, directed=True, connection="strong")
    lab = np.where(on_link, lab, -1)
    counts = np.bincount(lab[on_link])
    big = int(np.argmax(counts))
    keep = lab == big
    n_linked, n_big = int(on_link.sum()), int(counts[big])
    if n_big == n_linked:
        return keep
    policy = cfg.roads_components
    if policy == "error" or (policy == "auto" and n_big < _KEEP_SHARE * n_linked):
        k = int(np.nonzero(on_link & ~keep)[0][0])
        pieces = int((counts > 0).sum())
        fail(t.key, t.path,
             f"the road graph is not connected: {pieces} pieces, the largest has {n_big} of {n_linked} nodes; "
             f"{t.where(k)} cannot reach it or cannot be reached from it. Fix the file, or set "
             f"city.roads_components=largest to keep the largest piece", int(t.node_line[k]))
    meta["roads_nodes_dropped"] = n_linked - n_big
    return keep


def build_roads(t: RoadTable, cfg: CityConfig) -> LoadedRoads:
    """The :class:`Roads` of a table (steps in the module docstring)."""
    n = len(t.node_ids)
    meta: dict[str, object] = {"roads_file": str(t.path), "roads_format": t.fmt}
    meta.update(t.meta)
    if len(t.u) == 0:
        fail(t.key, t.path, "no road links in the file")
    x, y = _to_metres(t, cfg, meta)
    straight = np.hypot(x[t.u] - x[t.v], y[t.u] - y[t.v])
    length = np.where(np.isfinite(t.length_m) & (t.length_m > 0), t.length_m, np.maximum(straight, 1.0))
    speed = _speeds(t, cfg)
    loop = t.u == t.v
    if loop.any():
        meta["roads_self_loops_dropped"] = int(loop.sum())
    rows = np.nonzero(~loop)[0]
    groups = [tuple(int(rows[i]) for i in g) for g in _pair_directions(t.u[rows], t.v[rows], t.two_way[rows])]
    first = np.array([g[0] for g in groups], dtype=np.int64)
    u, v = t.u[first].astype(np.int64), t.v[first].astype(np.int64)
    oneway = np.array([len(g) == 1 and not t.two_way[g[0]] for g in groups], dtype=bool)
    length_l = np.array([length[list(g)].mean() for g in groups])
    speed_l = np.array([speed[list(g)].mean() for g in groups])
    cls = np.array([t.road_class[list(g)].min() for g in groups], dtype=np.int64)
    flag = [np.zeros(len(t.u), bool) if a is None else a.astype(bool) for a in (t.bridge, t.tunnel)]
    bridge = np.array([flag[0][list(g)].any() for g in groups], dtype=bool)
    tunnel = np.array([flag[1][list(g)].any() for g in groups], dtype=bool)

    on_link = np.zeros(n, bool)
    on_link[u] = on_link[v] = True
    if n - int(on_link.sum()):
        meta["roads_nodes_unlinked"] = n - int(on_link.sum())
    keep = _pieces(t, cfg, n, u, v, oneway, on_link, meta)
    alive = keep[u] & keep[v]
    road_of = np.full(n, -1, dtype=np.int64)
    road_of[keep] = np.arange(int(keep.sum()))
    nodes = np.nonzero(keep)[0]
    elev = np.zeros(n) if t.elev_m is None else np.nan_to_num(t.elev_m.astype(float), nan=0.0)
    roads = Roads(
        x_m=x[nodes], y_m=y[nodes], elev_m=elev[nodes], u=road_of[u[alive]], v=road_of[v[alive]],
        length_m=length_l[alive], speed_kmh=speed_l[alive], road_class=cls[alive], oneway=oneway[alive],
        bridge=bridge[alive], tunnel=tunnel[alive], underpass=np.zeros(int(alive.sum()), bool),
    )
    ids = tuple(t.node_ids[i] for i in nodes)
    meta.update(n_nodes=roads.n_nodes, n_links=roads.n_links, n_links_oneway=int(roads.oneway.sum()),
                roads_speed=cfg.roads_speed)
    link_rows = tuple(g for g, a in zip(groups, alive, strict=True) if a)
    return LoadedRoads(roads=roads, node_ids=ids, index={s: i for i, s in enumerate(ids)}, road_of=road_of,
                       link_rows=link_rows, meta=meta)
