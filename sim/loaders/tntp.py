"""Road networks in the TNTP format (Transportation Networks for Research).

A network is two files: ``NAME_net.tntp`` (a metadata block, then one row
per directed link: ``init_node term_node capacity length free_flow_time b
power speed toll link_type ;``) and the node coordinates, either
``NAME_node.tntp`` (``node x y ;``) or a GeoJSON of points with an ``id``
property (as Anaheim's ``anaheim_nodes.geojson``). ``city.roads_nodes_file``
names the second file; when null it is looked for next to the first
(``NAME_node.tntp``, ``NAME_nodes.tntp``, ``NAME_nodes.geojson``, any case).

Units differ between networks and the format does not fix them: the length
unit comes from ``city.roads_length_unit`` or, when ``auto``, from the
``<ORIGINAL HEADER>`` line (``Length (ft)``, ``length (miles)``, ``(km)``,
``(m)``); with none there, lengths are the straight lines between the nodes,
which needs coordinates in degrees or metres. Free-flow times are minutes.

Nodes ``1 .. NUMBER OF ZONES`` are zone centroids, joined to the network by
connector links that stand for the local streets of the zone. They are kept
as local streets (the file's free-flow time on a connector is a modelling
device, not a speed); ``city.roads_drop_centroids`` drops them and their
connectors instead, which can cut off nodes that only a connector reaches.
Other links take their class from the free-flow speed (length / time):
>= 80 km/h expressway, >= 50 arterial, else local; links without a time are
arterials (TNTP networks model the main roads).

A metadata ``<NUMBER OF LINKS>`` that does not match the rows stops the load
(a truncated file), as does a node without coordinates or a duplicate node.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from sim.config import CityConfig
from sim.loaders.geo import UNIT_M
from sim.loaders.roads import ARTERIAL, LOCAL, RoadTable, class_by_speed
from sim.loaders.source import fail, line_of, read_lines, read_text

__all__ = ["find_nodes_file", "read_tntp"]

_META = re.compile(r"^\s*<([^>]+)>\s*(.*?)\s*$")
_UNITS = {"ft": "ft", "feet": "ft", "foot": "ft", "mi": "mi", "mile": "mi", "miles": "mi",
          "km": "km", "m": "m", "meters": "m", "metres": "m"}


def find_nodes_file(net: Path) -> Path | None:
    stem = net.name
    prefix = stem[: stem.lower().rfind("_net")] if "_net" in stem.lower() else net.stem
    wanted = {f"{prefix}_node.tntp", f"{prefix}_nodes.tntp", f"{prefix}_nodes.geojson", f"{prefix}_node.geojson"}
    wanted = {w.lower() for w in wanted}
    for p in sorted(net.parent.iterdir()):
        if p.name.lower() in wanted and p.is_file():
            return p
    return None


def _length_unit(header: str) -> str | None:
    m = re.search(r"length\s*\(([^)]*)\)", header, flags=re.IGNORECASE)
    return _UNITS.get(m.group(1).strip().lower()) if m else None


def _fields(line: str) -> list[str]:
    return line.replace(";", " ").split()


def _read_net(path: Path, key: str) -> tuple[dict[str, str], list[tuple[int, list[str]]]]:
    lines = read_lines(path, key)
    meta: dict[str, str] = {}
    body = None
    for i, line in enumerate(lines, start=1):
        m = _META.match(line)
        if m:
            name = m.group(1).strip().upper()
            if name == "END OF METADATA":
                body = i
                break
            meta[name] = m.group(2).strip()
        elif line.strip():
            fail(key, path, f"not a TNTP network file: expected <KEY> value metadata lines, got {line.strip()[:60]!r}",
                 i)
    if body is None:
        fail(key, path, "not a TNTP network file: no <END OF METADATA> line")
    rows = [(i, _fields(line)) for i, line in enumerate(lines[body:], start=body + 1)
            if line.strip() and not line.lstrip().startswith("~")]
    return meta, rows


def _read_nodes_tntp(path: Path, key: str) -> tuple[dict[str, tuple[float, float]], dict[str, int]]:
    coords: dict[str, tuple[float, float]] = {}
    where: dict[str, int] = {}
    for i, line in enumerate(read_lines(path, key), start=1):
        f = _fields(line)
        if not f or line.lstrip().startswith("~"):
            continue
        if f[0].lower() == "node":
            continue  # the header row
        if len(f) < 3:
            fail(key, path, f"expected 'node x y ;', got {line.strip()[:60]!r}", i)
        try:
            node, x, y = str(int(f[0])), float(f[1]), float(f[2])
        except ValueError:
            fail(key, path, f"expected 'node x y ;' with numbers, got {line.strip()[:60]!r}", i)
        if not (np.isfinite(x) and np.isfinite(y)):
            fail(key, path, f"node {node}: coordinates are not finite numbers", i)
        if node in coords:
            fail(key, path, f"duplicate node {node} (first at line {where[node]})", i)
        coords[node], where[node] = (x, y), i
    if not coords:
        fail(key, path, "no node coordinates in the file")
    return coords, where


def _read_nodes_geojson(path: Path, key: str) -> tuple[dict[str, tuple[float, float]], dict[str, int], str]:
    text = read_text(path, key)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(key, path, f"not valid JSON: {exc.msg}", exc.lineno)
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        fail(key, path, "not a GeoJSON FeatureCollection of node points")
    crs = ""
    if isinstance(doc.get("crs"), dict):
        crs = str((doc["crs"].get("properties") or {}).get("name", ""))
    coords: dict[str, tuple[float, float]] = {}
    where: dict[str, int] = {}
    pos = 0
    for k, f in enumerate(feats):
        line = line_of(text, '"Feature"', pos) or 0
        pos = text.find('"Feature"', pos) + 1 if line else pos
        if not isinstance(f, dict):
            fail(key, path, f"feature {k}: expected a GeoJSON Feature", line)
        props = f.get("properties") or {}
        nid = next((props[c] for c in ("id", "node", "Node", "ID", "node_id") if c in props), f.get("id"))
        geom = f.get("geometry") or {}
        xy = geom.get("coordinates") if isinstance(geom, dict) and geom.get("type") == "Point" else None
        if nid is None or not isinstance(xy, list) or len(xy) < 2:
            fail(key, path, f"feature {k}: expected a Point with an 'id' property", line)
        try:
            node, x, y = str(int(nid)), float(xy[0]), float(xy[1])
        except (TypeError, ValueError):
            fail(key, path, f"feature {k}: id and coordinates must be numbers", line)
        if not (np.isfinite(x) and np.isfinite(y)):
            fail(key, path, f"node {node}: coordinates are not finite numbers", line)
        if node in coords:
            fail(key, path, f"duplicate node {node} (first at line {where[node]})", line)
        coords[node], where[node] = (x, y), line
    if not coords:
        fail(key, path, "no node points in the file")
    return coords, where, crs


def read_tntp(path: Path, key: str, cfg: CityConfig) -> RoadTable:
    meta, rows = _read_net(path, key)
    links = []
    for i, f in rows:
        if len(f) < 5:
            fail(key, path, f"a link row needs at least init_node term_node capacity length free_flow_time; "
                            f"got {len(f)} field(s)", i)
        try:
            a, b = int(f[0]), int(f[1])
            length, fftt = float(f[3]), float(f[4])
        except ValueError:
            fail(key, path, f"init_node and term_node must be integers, length and free_flow_time numbers: "
                            f"{' '.join(f)[:80]!r}", i)
        if not (np.isfinite(length) and length >= 0 and np.isfinite(fftt) and fftt >= 0):
            fail(key, path, f"link {a} -> {b}: length and free_flow_time must be finite and >= 0", i)
        links.append((a, b, length, fftt, i))
    declared = meta.get("NUMBER OF LINKS", "")
    if declared.strip().isdigit() and int(declared) != len(links):
        last = links[-1][4] if links else None
        fail(key, path, f"the metadata says {int(declared)} links but the file has {len(links)}"
                        + (" (truncated?)" if len(links) < int(declared) else ""), last)
    if not links:
        fail(key, path, "no link rows after <END OF METADATA>")

    zones_text = meta.get("NUMBER OF ZONES", "0").strip()
    n_zones = int(zones_text) if zones_text.isdigit() else 0
    notes: dict[str, object] = {"tntp_zones": n_zones}
    if cfg.roads_drop_centroids and n_zones:
        kept = [lk for lk in links if lk[0] > n_zones and lk[1] > n_zones]
        notes["tntp_connectors_dropped"] = len(links) - len(kept)
        links = kept
        if not links:
            fail(key, path, "no link is left once the zone centroids' connectors are dropped")

    nodes_key = "city.roads_nodes_file" if cfg.roads_nodes_file else key
    nodes_path = Path(cfg.roads_nodes_file).expanduser() if cfg.roads_nodes_file else find_nodes_file(path)
    if nodes_path is None:
        fail(key, path, "no node coordinates found next to it (NAME_node.tntp or NAME_nodes.geojson); "
                        "name the file with city.roads_nodes_file")
    crs = ""
    if nodes_path.suffix.lower() in (".geojson", ".json"):
        coords, _, crs = _read_nodes_geojson(nodes_path, nodes_key)
        xy = "projected" if crs and not re.search(r"crs84|4326", crs.lower()) else "deg"
    else:
        coords, _ = _read_nodes_tntp(nodes_path, nodes_key)
        xy = "unknown"
    ids = sorted({str(a) for a, *_ in links} | {str(b) for _, b, *_ in links}, key=int)
    for a, b, _, _, i in links:
        for end in (str(a), str(b)):
            if end not in coords:
                fail(nodes_key, nodes_path, f"node {end} (a link at {path}:{i}) has no coordinates in this file")
    index = {s: k for k, s in enumerate(ids)}
    unit = cfg.roads_length_unit if cfg.roads_length_unit != "auto" else _length_unit(meta.get("ORIGINAL HEADER", ""))
    in_file = np.array([lk[2] for lk in links], dtype=float)
    minutes = np.array([lk[3] for lk in links], dtype=float)
    if unit is None:
        notes["roads_length_source"] = "straight line between the nodes (no unit in the file)"
        length_m = np.full(len(links), np.nan)
    else:
        notes["roads_length_source"] = f"file ({unit})"
        length_m = np.where(in_file > 0, in_file * UNIT_M[unit], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where((minutes > 0) & np.isfinite(length_m), length_m / (minutes * 60.0) * 3.6, np.nan)
    connector = np.array([min(lk[0], lk[1]) <= n_zones for lk in links], dtype=bool)
    speed[connector] = np.nan
    road_class = class_by_speed(speed, ARTERIAL)
    road_class[connector] = LOCAL
    return RoadTable(
        path=path, key=key, fmt="tntp", node_ids=ids, node_line=np.zeros(len(ids), dtype=np.int64),
        x=np.array([coords[s][0] for s in ids]), y=np.array([coords[s][1] for s in ids]),
        u=np.array([index[str(lk[0])] for lk in links], dtype=np.int64),
        v=np.array([index[str(lk[1])] for lk in links], dtype=np.int64),
        length_m=length_m, speed_kmh=speed, road_class=road_class,
        two_way=np.zeros(len(links), bool), line=np.array([lk[4] for lk in links], dtype=np.int64),
        xy=xy, crs=crs, meta=notes,
    )
