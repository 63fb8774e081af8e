"""Water networks from EPANET input files (``.inp``), without EPANET or WNTR.

Only the sections the model needs are interpreted: ``[TITLE]``,
``[JUNCTIONS]``, ``[RESERVOIRS]``, ``[TANKS]``, ``[PIPES]``, ``[PUMPS]``,
``[VALVES]``, ``[DEMANDS]``, ``[STATUS]``, ``[OPTIONS]`` (``Units``,
``Demand Multiplier``) and ``[COORDINATES]``; the other EPANET sections
(patterns, curves, controls, quality, ...) are skipped, and a section EPANET
does not know stops the load, as EPANET itself would. ``;`` starts a comment;
fields are separated by blanks; LF and CRLF files read alike.

Units follow ``[OPTIONS] Units``: US flow units (CFS, GPM, MGD, IMGD, AFD;
GPM is EPANET's default) mean lengths and elevations in feet and diameters
in inches; SI flow units (LPS, LPM, MLD, CMH, CMD) mean metres and
millimetres. Demands are converted to m³/day (times the demand multiplier);
a junction listed in ``[DEMANDS]`` takes those demands instead of its own
field, as in EPANET. Pipes closed in ``[PIPES]`` or ``[STATUS]`` are left
out (they carry no water in normal operation).

Checked, with the line: numbers that are not finite, lengths and diameters
<= 0, links to undefined nodes or from a node to itself, duplicate node or
link ids, coordinates of undefined nodes; for the whole file: no junction,
no source (reservoir or tank), and no ``[END]`` line (a truncated file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from sim.loaders.source import fail, read_lines

__all__ = ["EpanetModel", "Link", "read_epanet"]

_SECTIONS = {
    "TITLE", "JUNCTIONS", "RESERVOIRS", "TANKS", "PIPES", "PUMPS", "VALVES", "TAGS", "DEMANDS", "STATUS",
    "PATTERNS", "CURVES", "CONTROLS", "RULES", "ENERGY", "EMITTERS", "QUALITY", "SOURCES", "REACTIONS",
    "MIXING", "TIMES", "REPORT", "OPTIONS", "COORDINATES", "VERTICES", "LABELS", "BACKDROP", "END",
    "LEAKAGE",
}
#: m³/day per flow unit.
_FLOW_M3_DAY = {
    "CFS": 2446.5755, "GPM": 5.450997, "MGD": 3785.4118, "IMGD": 4546.0900, "AFD": 1233.4818,
    "LPS": 86.4, "LPM": 1.44, "MLD": 1000.0, "CMH": 24.0, "CMD": 1.0,
}
_US = {"CFS", "GPM", "MGD", "IMGD", "AFD"}


@dataclass(frozen=True)
class Link:
    id: str
    a: int  # node index
    b: int
    line: int
    length_m: float = 0.0
    diameter_mm: float = 0.0
    roughness: float = 0.0
    kind: str = "pipe"  # pipe | pump | valve (then the EPANET valve type, e.g. PRV)


@dataclass
class EpanetModel:
    path: Path
    title: str = ""
    units: str = "GPM"
    node_ids: list[str] = field(default_factory=list)
    node_kind: list[str] = field(default_factory=list)  # junction | reservoir | tank
    node_line: list[int] = field(default_factory=list)
    elev_m: list[float] = field(default_factory=list)
    demand_m3_day: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    pipes: list[Link] = field(default_factory=list)
    pumps: list[Link] = field(default_factory=list)
    valves: list[Link] = field(default_factory=list)
    n_closed_pipes: int = 0

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)


class _Parser:
    def __init__(self, path: Path, key: str) -> None:
        self.path, self.key = path, key
        self.rows: dict[str, list[tuple[int, list[str]]]] = {}
        self.title: list[str] = []

    def fail(self, message: str, line: int | None = None) -> NoReturn:
        fail(self.key, self.path, message, line)

    def read(self) -> None:
        section = None
        ended = False
        last = 0
        for i, raw in enumerate(read_lines(self.path, self.key), start=1):
            text = raw.split(";", 1)[0].strip()
            if not text:
                continue
            last = i
            if text.startswith("["):
                name = text[1:text.find("]")].strip().upper() if "]" in text else ""
                if name not in _SECTIONS:
                    self.fail(f"unknown section {text!r} (EPANET sections: [JUNCTIONS], [PIPES], ...)", i)
                if name == "END":
                    ended = True
                    break
                section = name
                continue
            if section is None:
                self.fail(f"data before the first [SECTION] header: {text[:60]!r}; not an EPANET .inp file", i)
            if section == "TITLE":
                self.title.append(text)
            else:
                self.rows.setdefault(section, []).append((i, text.split()))
        if not ended:
            self.fail("no [END] line: the file is truncated after this line (EPANET writes [END] last)", last)

    def number(self, text: str, what: str, line: int) -> float:
        try:
            value = float(text)
        except ValueError:
            self.fail(f"{what} is not a number ({text!r})", line)
        if not np.isfinite(value):
            self.fail(f"{what} is not a finite number ({text!r})", line)
        return value

    def need(self, f: list[str], n: int, what: str, line: int) -> None:
        if len(f) < n:
            self.fail(f"{what}: expected at least {n} fields, got {len(f)}", line)


def read_epanet(path: Path, key: str) -> EpanetModel:
    p = _Parser(path, key)
    p.read()
    m = EpanetModel(path=path, title=" ".join(p.title)[:200])
    multiplier = 1.0
    for i, f in p.rows.get("OPTIONS", []):
        words = [w.upper() for w in f]
        if words[0] == "UNITS" and len(words) > 1:
            if words[1] not in _FLOW_M3_DAY:
                p.fail(f"unknown flow units {f[1]!r} (EPANET: {', '.join(_FLOW_M3_DAY)})", i)
            m.units = words[1]
        elif words[:2] == ["DEMAND", "MULTIPLIER"] and len(words) > 2:
            multiplier = p.number(f[2], "demand multiplier", i)
    us = m.units in _US
    to_m, to_mm, flow = (0.3048 if us else 1.0), (25.4 if us else 1.0), _FLOW_M3_DAY[m.units] * multiplier

    index: dict[str, int] = {}
    for kind, section in (("junction", "JUNCTIONS"), ("reservoir", "RESERVOIRS"), ("tank", "TANKS")):
        for i, f in p.rows.get(section, []):
            p.need(f, 2, f"{kind} {f[0]}", i)
            if f[0] in index:
                p.fail(f"duplicate node id {f[0]!r} (first at line {m.node_line[index[f[0]]]})", i)
            index[f[0]] = len(m.node_ids)
            m.node_ids.append(f[0])
            m.node_kind.append(kind)
            m.node_line.append(i)
            m.elev_m.append(p.number(f[1], f"{kind} {f[0]}: elevation/head", i) * to_m)
            demand = p.number(f[2], f"junction {f[0]}: demand", i) if kind == "junction" and len(f) > 2 else 0.0
            m.demand_m3_day.append(demand * flow)
    if "junction" not in m.node_kind:
        p.fail("no [JUNCTIONS]: not a water distribution network")
    if not {"reservoir", "tank"} & set(m.node_kind):
        p.fail("the network has no source: no [RESERVOIRS] and no [TANKS]")

    replaced: set[str] = set()
    for i, f in p.rows.get("DEMANDS", []):
        p.need(f, 2, "demand", i)
        if f[0] not in index or m.node_kind[index[f[0]]] != "junction":
            p.fail(f"demand for {f[0]!r}, which is not a junction", i)
        k = index[f[0]]
        if f[0] not in replaced:
            replaced.add(f[0])
            m.demand_m3_day[k] = 0.0
        m.demand_m3_day[k] += p.number(f[1], f"junction {f[0]}: demand", i) * flow

    links: dict[str, int] = {}

    def ends(f: list[str], what: str, i: int) -> tuple[int, int]:
        if f[0] in links:
            p.fail(f"duplicate link id {f[0]!r} (first at line {links[f[0]]})", i)
        links[f[0]] = i
        for node in (f[1], f[2]):
            if node not in index:
                p.fail(f"{what} {f[0]}: node {node!r} is not defined", i)
        if f[1] == f[2]:
            p.fail(f"{what} {f[0]}: starts and ends at node {f[1]!r}", i)
        return index[f[1]], index[f[2]]

    closed = {f[0] for _, f in p.rows.get("STATUS", []) if len(f) > 1 and f[1].upper() == "CLOSED"}
    for i, f in p.rows.get("PIPES", []):
        p.need(f, 6, f"pipe {f[0]}", i)
        a, b = ends(f, "pipe", i)
        length = p.number(f[3], f"pipe {f[0]}: length", i)
        diameter = p.number(f[4], f"pipe {f[0]}: diameter", i)
        if length <= 0 or diameter <= 0:
            p.fail(f"pipe {f[0]}: length and diameter must be > 0 (got {f[3]}, {f[4]})", i)
        rough = p.number(f[5], f"pipe {f[0]}: roughness", i)
        status = f[7].upper() if len(f) > 7 else "OPEN"
        if status == "CLOSED" or f[0] in closed:
            m.n_closed_pipes += 1
            continue
        m.pipes.append(Link(f[0], a, b, i, length * to_m, diameter * to_mm, rough))
    for i, f in p.rows.get("PUMPS", []):
        p.need(f, 3, f"pump {f[0]}", i)
        a, b = ends(f, "pump", i)
        m.pumps.append(Link(f[0], a, b, i, kind="pump"))
    for i, f in p.rows.get("VALVES", []):
        p.need(f, 5, f"valve {f[0]}", i)
        a, b = ends(f, "valve", i)
        diameter = p.number(f[3], f"valve {f[0]}: diameter", i)
        m.valves.append(Link(f[0], a, b, i, diameter_mm=diameter * to_mm, kind=f[4].upper()))
    if not m.pipes:
        p.fail("no open [PIPES]: nothing to break")

    m.x = [float("nan")] * m.n_nodes
    m.y = [float("nan")] * m.n_nodes
    seen: dict[str, int] = {}
    for i, f in p.rows.get("COORDINATES", []):
        p.need(f, 3, "coordinates", i)
        if f[0] not in index:
            p.fail(f"coordinates for {f[0]!r}, which is not a node", i)
        if f[0] in seen:
            p.fail(f"coordinates for {f[0]!r} given twice (first at line {seen[f[0]]})", i)
        seen[f[0]] = i
        m.x[index[f[0]]] = p.number(f[1], f"node {f[0]}: x", i)
        m.y[index[f[0]]] = p.number(f[2], f"node {f[0]}: y", i)
    return m
