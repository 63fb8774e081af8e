"""Road networks in GraphML as OSMnx writes them (``ox.save_graphml``).

What is read: nodes with ``x``, ``y`` (longitude/latitude unless the graph's
``crs`` names a projected CRS, as after ``ox.project_graph``) and optional
``elevation``; edges with ``length`` (metres), ``highway``, ``maxspeed``,
``oneway``, ``bridge`` and ``tunnel``. OSMnx writes every value as text and
lists as their Python repr (``"['primary', 'secondary']"``); both are read
here as text, never evaluated. Other attributes (names, geometry, osmid) are
ignored. Any GraphML that networkx writes with these attribute names loads
too.

Road class from ``highway``: motorway and trunk (and their links) are
expressways; primary, secondary and tertiary arterials; everything else
local. ``maxspeed`` is km/h unless it says mph; a list takes its lowest value.
In a directed graph (OSMnx's default) every edge is one direction of travel,
and a street open both ways appears twice; in an undirected one every edge
is two-way unless ``oneway`` says otherwise.

The parser is expat, so every message names the line: an XML error, a node
without coordinates, an edge to a node that does not exist, a duplicate id.
Entity declarations are refused (no entity-expansion bombs, no external files).
"""

from __future__ import annotations

import re
import xml.parsers.expat
from pathlib import Path
from typing import Any

import numpy as np

from sim.loaders.roads import ARTERIAL, EXPRESSWAY, LOCAL, RoadTable
from sim.loaders.source import fail, read_bytes

__all__ = ["read_graphml"]

_EXPRESSWAY = {"motorway", "motorway_link", "trunk", "trunk_link"}
_ARTERIAL = {"primary", "primary_link", "secondary", "secondary_link", "tertiary", "tertiary_link"}
_NO = {"", "no", "false", "0", "none", "nan"}
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def _items(text: str) -> list[str]:
    """``"['a', 'b']"`` or ``"a"`` -> ``["a", "b"]`` / ``["a"]`` (a list written as text, not evaluated)."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [p.strip().strip("'\"").strip() for p in text.split(",") if p.strip().strip("'\"").strip()]


def _road_class(highway: str) -> int:
    tags = {t.lower() for t in _items(highway)}
    if tags & _EXPRESSWAY:
        return EXPRESSWAY
    if tags & _ARTERIAL:
        return ARTERIAL
    return LOCAL


def _maxspeed(text: str) -> float:
    speeds = []
    for item in _items(text):
        m = _NUMBER.search(item)
        if m:
            speeds.append(float(m.group()) * (1.609344 if "mph" in item.lower() else 1.0))
    return min(speeds) if speeds else float("nan")


def _truthy(text: str | None) -> bool:
    return text is not None and all(i.lower() not in _NO for i in _items(text)) and bool(_items(text))


class _Reader:
    """Collects keys, nodes and edges with the line each starts on."""

    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self.keys: dict[str, str] = {}  # key id -> attribute name
        self.directed = True
        self.graph: dict[str, str] = {}
        self.nodes: dict[str, tuple[int, dict[str, str]]] = {}
        self.edges: list[tuple[int, str, str, dict[str, str]]] = []
        self._stack: list[str] = []
        self._data: tuple[str, list[str]] | None = None
        self._target: dict[str, str] | None = None
        self.p = xml.parsers.expat.ParserCreate()
        self.p.StartElementHandler = self.start
        self.p.EndElementHandler = self.end
        self.p.CharacterDataHandler = self.chars
        self.p.EntityDeclHandler = self.entity

    def line(self) -> int:
        return int(self.p.CurrentLineNumber)

    def entity(self, *_: Any) -> None:
        fail(self.key, self.path, "entity declarations are not allowed in a road network file", self.line())

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rsplit(":", 1)[-1]
        self._stack.append(name)
        if name == "key" and "id" in attrs:
            self.keys[attrs["id"]] = attrs.get("attr.name", attrs["id"])
        elif name == "graph":
            self.directed = attrs.get("edgedefault", "directed") != "undirected"
            self._target = self.graph
        elif name == "node":
            nid = attrs.get("id")
            if nid is None:
                fail(self.key, self.path, "a <node> without an id", self.line())
            if nid in self.nodes:
                fail(self.key, self.path, f"duplicate node id {nid!r} (first at line {self.nodes[nid][0]})",
                     self.line())
            self._target = {}
            self.nodes[nid] = (self.line(), self._target)
        elif name == "edge":
            src, dst = attrs.get("source"), attrs.get("target")
            if src is None or dst is None:
                fail(self.key, self.path, "an <edge> without source or target", self.line())
            self._target = {}
            if "directed" in attrs:
                self._target["__directed"] = attrs["directed"]
            self.edges.append((self.line(), src, dst, self._target))
        elif name == "data":
            self._data = (self.keys.get(attrs.get("key", ""), attrs.get("key", "")), [])

    def chars(self, text: str) -> None:
        if self._data is not None:
            self._data[1].append(text)

    def end(self, tag: str) -> None:
        name = self._stack.pop() if self._stack else tag
        if name == "data" and self._data is not None:
            if self._target is not None:
                self._target[self._data[0]] = "".join(self._data[1]).strip()
            self._data = None
        elif name in ("node", "edge"):
            self._target = self.graph if "graph" in self._stack else None

    def parse(self, data: bytes) -> None:
        try:
            self.p.Parse(data, True)
        except xml.parsers.expat.ExpatError as exc:
            fail(self.key, self.path, f"not well-formed GraphML: {xml.parsers.expat.ErrorString(exc.code)}",
                 exc.lineno)


def _number(r: _Reader, attrs: dict[str, str], name: str, what: str, line: int) -> float:
    text = attrs.get(name)
    if text is None:
        fail(r.key, r.path, f"{what} has no {name!r}", line)
    try:
        value = float(text)
    except ValueError:
        fail(r.key, r.path, f"{what}: {name} is not a number ({text!r})", line)
    if not np.isfinite(value):
        fail(r.key, r.path, f"{what}: {name} is not finite ({text!r})", line)
    return value


def read_graphml(path: Path, key: str) -> RoadTable:
    r = _Reader(path, key)
    r.parse(read_bytes(path, key))
    if not r.nodes:
        fail(key, path, "no <node> elements: not a GraphML road network")
    ids = list(r.nodes)
    index = {s: i for i, s in enumerate(ids)}
    node_line = np.array([r.nodes[s][0] for s in ids], dtype=np.int64)
    xy = np.array([[_number(r, a, "x", f"node {s}", ln), _number(r, a, "y", f"node {s}", ln)]
                   for s, (ln, a) in r.nodes.items()])
    elev = np.array([float(a["elevation"]) if _is_float(a.get("elevation")) else np.nan
                     for _, a in r.nodes.values()])
    rows: list[tuple[int, int, float, float, int, bool, bool, bool, int]] = []
    for line, src, dst, a in r.edges:
        for end in (src, dst):
            if end not in index:
                fail(key, path, f"edge {src} -> {dst}: node {end!r} does not exist", line)
        length = _number(r, a, "length", f"edge {src} -> {dst}", line) if "length" in a else float("nan")
        if length < 0:
            fail(key, path, f"edge {src} -> {dst}: negative length {length}", line)
        directed = r.directed if "__directed" not in a else a["__directed"].lower() == "true"
        two_way = not directed and not _truthy(a.get("oneway"))
        rows.append((index[src], index[dst], length, _maxspeed(a.get("maxspeed", "")),
                     _road_class(a.get("highway", "")), two_way, _truthy(a.get("bridge")),
                     _truthy(a.get("tunnel")), line))
    if not rows:
        fail(key, path, "no <edge> elements: not a road network")
    cols = list(zip(*rows, strict=True))
    crs = r.graph.get("crs", "")
    geographic = bool(re.search(r"(?:epsg:4326|crs84|wgs ?84)\b", crs.lower())) and "utm" not in crs.lower()
    return RoadTable(
        path=path, key=key, fmt="graphml", node_ids=ids, node_line=node_line, x=xy[:, 0], y=xy[:, 1],
        u=np.array(cols[0], dtype=np.int64), v=np.array(cols[1], dtype=np.int64),
        length_m=np.array(cols[2], dtype=float), speed_kmh=np.array(cols[3], dtype=float),
        road_class=np.array(cols[4], dtype=np.int64), two_way=np.array(cols[5], dtype=bool),
        bridge=np.array(cols[6], dtype=bool), tunnel=np.array(cols[7], dtype=bool),
        line=np.array(cols[8], dtype=np.int64), elev_m=elev,
        xy="deg" if geographic else ("projected" if crs else "unknown"), crs=crs,
    )


def _is_float(text: str | None) -> bool:
    if text is None:
        return False
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False
