"""GIS out: a run folder as GeoJSON layers that QGIS opens (``cityres-export RUN_DIR --geojson``).

Reads only the run folder (``city/*.csv``, ``incidents.csv``, ``events.csv``,
``summary.json``) and writes, by default into ``RUN_DIR/gis/``, one
FeatureCollection per layer:

| file | geometry | one feature per |
|---|---|---|
| ``roads.geojson`` | LineString | road link; with its closures in the run (``closures``, ``closed_s``) and the time it was closed to light vehicles, ambulances and utility crews (``closed_light_s``, including the time closed to every unit) |
| ``pipes.geojson`` | LineString | water main; with ``bursts`` and ``out_s`` (time out of service) |
| ``stations.geojson`` | Point | station, with its units |
| ``facilities.geojson`` | Point | hospital, substation or water booster pump station |
| ``zones.geojson`` | Polygon | zone: the convex hull of the road nodes nearest its centre |
| ``incidents.geojson`` | Point | incident, every column of ``incidents.csv`` |
| ``closures.geojson`` | LineString | road closure: ``t_close_s``, ``t_open_s`` (null: closed at the horizon) |
| ``outages.geojson`` | MultiLineString | main break: the isolated segment, times, customers out |

**Coordinates.** The run folder holds metres in the city's plane. When the
city came from longitude/latitude (``summary.json`` has
``city.geo_origin_lon``/``geo_origin_lat``, written by the loaders), they are
projected back to WGS84 lon/lat by the inverse of the loaders' local
equirectangular projection, as RFC 7946 asks, and no ``crs`` member is
written. When the city names a projected CRS of its own (``city.crs``, e.g.
``EPSG:32650`` from a projected OSMnx graph) the metres are written as they
are with a GeoJSON 2008 ``crs`` member naming it. Otherwise (the generated
district, TNTP or EPANET drawings) the plane is local: metres with a ``crs``
member holding a ``LOCAL_CS`` definition, which GDAL (and so QGIS) reads as
an engineering CRS in metres; such a layer lines up with the other layers
of the same run, not with a basemap.

Times are seconds since the scenario start, as everywhere in the run folder.
Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.rundir import Run, atomic_write, load_run, run_horizon
from sim.log import LIGHT_NOTE

__all__ = ["LAYERS", "export_geojson", "main"]

LAYERS = ("roads", "pipes", "stations", "facilities", "zones", "incidents", "closures", "outages")
_ROAD_CLASSES = ("expressway", "arterial", "local")  # sim.city.ROAD_CLASSES, by index
_EARTH_RADIUS_M = 6_371_008.8  # as in sim.loaders.geo
_LOCAL_CS = ('LOCAL_CS["cityres local plane (metres)",LOCAL_DATUM["cityres local datum",32767],'
             'UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]')

Point = list[float]
Transform = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _frame(summary: dict[str, Any]) -> tuple[Transform, dict[str, Any] | None, int, str]:
    """(x, y) -> output coordinates, the ``crs`` member (None: WGS84), the decimals, and a note."""
    raw = summary.get("city")
    city: dict[str, Any] = raw if isinstance(raw, dict) else {}
    lon0, lat0 = city.get("geo_origin_lon"), city.get("geo_origin_lat")
    if isinstance(lon0, (int, float)) and isinstance(lat0, (int, float)):
        k = _EARTH_RADIUS_M * math.pi / 180.0

        def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return lon0 + x / (k * math.cos(math.radians(lat0))), lat0 + y / k

        return to_lonlat, None, 7, f"WGS84 lon/lat, back-projected from the local plane about ({lon0}, {lat0})"
    crs = str(city.get("crs") or "")
    if crs.upper().startswith("EPSG:") and crs.upper() != "EPSG:4326":
        code = crs.split(":", 1)[1]
        return (lambda x, y: (x, y)), {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{code}"}}, 2, \
            f"{crs} metres, as in the road file"
    return (lambda x, y: (x, y)), {"type": "name", "properties": {"name": _LOCAL_CS}}, 2, \
        "metres on the city's local plane (not georeferenced)"


# Integer columns that pandas reads as float when a cell is empty.
_INTS = {"incident", "node", "link", "u", "v", "n_units", "severity", "road_link", "install_year", "population",
         "households"}


def _clean(v: Any, key: str = "") -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if not math.isfinite(v):
            return None
        if key in _INTS and v.is_integer():
            return int(v)
    return v


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain dicts, each column keeping its own type (``iterrows`` would upcast ints to float)."""
    return [{str(k): _clean(v, str(k)) for k, v in row.items()} for row in df.to_dict("records")]


class _Layers:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.transform, self.crs, self.decimals, self.note = _frame(run.summary)
        nodes = run.city.get("nodes")
        if nodes is None:
            raise ValueError(f"{run.path}: no city/nodes.csv, so no coordinates to export")
        lon, lat = self.transform(nodes["x_m"].to_numpy(float), nodes["y_m"].to_numpy(float))
        self.xy = {int(n): [round(float(a), self.decimals), round(float(b), self.decimals)]
                   for n, a, b in zip(nodes["node"], lon, lat, strict=True)}
        self.horizon = run_horizon(run)

    def point(self, x: float, y: float) -> Point:
        a, b = self.transform(np.array([x]), np.array([y]))
        return [round(float(a[0]), self.decimals), round(float(b[0]), self.decimals)]

    def events(self, kind: str) -> pd.DataFrame:
        ev = self.run.events
        return ev[ev["kind"] == kind]

    def collection(self, name: str, features: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "FeatureCollection", "name": name}
        if self.crs is not None:
            out["crs"] = self.crs
        out["cityres_coordinates"] = self.note
        out["features"] = features
        return out

    def closed_intervals(self) -> list[tuple[int, float, float | None, Any, str]]:
        """(link, t_close, t_open or None, incident, note) for every closure, opened in order.

        A flood's closures pair with the opening of the same note (a road closed to ambulances at
        30 cm and to every unit at 60 cm opens in the reverse order); others open first in, first out.
        """
        out: list[tuple[int, float, float | None, Any, str]] = []
        open_: dict[tuple[int, str], list[int]] = {}
        ev = self.run.events
        for _, e in ev[ev["kind"].isin(["road_close", "road_open"])].iterrows():
            link = int(str(e["scope"]).removeprefix("roads.link."))
            note = str(e["note"])
            key = (link, note if note.startswith("flood") else "")
            if e["kind"] == "road_close":
                open_.setdefault(key, []).append(len(out))
                out.append((link, float(e["t_s"]), None, _clean(e["incident"], "incident"), note))
            elif open_.get(key):
                k = open_[key].pop(0)
                out[k] = (out[k][0], out[k][1], float(e["t_s"]), out[k][3], out[k][4])
        return out

    def roads(self) -> list[dict[str, Any]]:
        links = self.run.city.get("links")
        if links is None:
            return []
        closed: dict[int, list[float]] = {}
        light: dict[int, list[float]] = {}  # closed to light vehicles: kept apart (it overlaps the others)
        for link, t0, t1, _, note in self.closed_intervals():
            (light if note == LIGHT_NOTE else closed).setdefault(link, []).append(
                (t1 if t1 is not None else self.horizon) - t0)
        feats = []
        for p in _records(links):
            r = p
            cls = int(r["road_class"])
            p["road_class"] = _ROAD_CLASSES[cls] if 0 <= cls < len(_ROAD_CLASSES) else str(cls)
            p["closures"] = len(closed.get(int(r["link"]), []))
            p["closed_s"] = round(sum(closed.get(int(r["link"]), [])), 3)
            p["closed_light_s"] = round(sum(light.get(int(r["link"]), [])), 3)
            feats.append(_line(p, [self.xy[int(r["u"])], self.xy[int(r["v"])]]))
        return feats

    def outages(self) -> tuple[list[dict[str, Any]], dict[str, list[float]], dict[str, int]]:
        """Features per break, and per pipe the seconds out of service and the number of bursts."""
        pipes = self.run.city.get("pipes")
        ends = {} if pipes is None else {str(p): (int(u), int(v)) for p, u, v in zip(pipes["pipe"], pipes["u"],
                                                                                    pipes["v"], strict=True)}
        ev = self.run.events
        by_inc = {k: g for k, g in ev[ev["incident"].notna()].groupby("incident")}
        feats: list[dict[str, Any]] = []
        out_s: dict[str, list[float]] = {}
        bursts: dict[str, int] = {}
        for _, b in self.events("burst").iterrows():
            pipe = str(b["scope"]).removeprefix("water.pipe.")
            bursts[pipe] = bursts.get(pipe, 0) + 1
            g = by_inc.get(b["incident"], ev.iloc[0:0])
            iso, rest = g[g["kind"] == "isolate"], g[g["kind"] == "restore"]
            t_iso = float(iso["t_s"].iloc[0]) if len(iso) else None
            t_rest = float(rest["t_s"].iloc[0]) if len(rest) else None
            note = str(iso["note"].iloc[0]) if len(iso) else ""
            segment = [s for s in note.removeprefix("segment=").split(",") if s] if note else [pipe]
            for s in segment:
                start = t_iso if t_iso is not None else float(b["t_s"])
                out_s.setdefault(s, []).append((t_rest if t_rest is not None else self.horizon) - start)
            lines = [[self.xy[ends[s][0]], self.xy[ends[s][1]]] for s in segment if s in ends]
            fails = g[g["kind"] == "valve_fail"]["scope"].astype(str).str.removeprefix("water.valve.")
            feats.append({"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": lines},
                          "properties": {
                              "pipe": pipe, "incident": _clean(b["incident"], "incident"), "t_burst_s": float(b["t_s"]),
                              "t_isolate_s": t_iso, "t_restore_s": t_rest,
                              "customers_out": _clean(iso["value"].iloc[0]) if len(iso) else None,
                              "segment": ",".join(segment), "n_pipes": len(segment),
                              "failed_valves": ",".join(fails)}})
        return feats, out_s, bursts

    def pipes(self, out_s: dict[str, list[float]], bursts: dict[str, int]) -> list[dict[str, Any]]:
        pipes = self.run.city.get("pipes")
        if pipes is None:
            return []
        feats = []
        for p in _records(pipes):
            r = p
            pid = str(r["pipe"])
            p["bursts"] = bursts.get(pid, 0)
            p["out_s"] = round(sum(out_s.get(pid, [])), 3)
            feats.append(_line(p, [self.xy[int(r["u"])], self.xy[int(r["v"])]]))
        return feats

    def closures(self) -> list[dict[str, Any]]:
        links = self.run.city.get("links")
        uv = {} if links is None else {int(k): (int(a), int(b)) for k, a, b in zip(links["link"], links["u"],
                                                                                 links["v"], strict=True)}
        feats = []
        for link, t0, t1, inc, note in self.closed_intervals():
            if link not in uv:
                continue
            end = t1 if t1 is not None else self.horizon
            feats.append(_line({"link": link, "incident": inc, "t_close_s": t0, "t_open_s": t1,
                                "duration_s": round(end - t0, 3), "open_at_end": t1 is None, "note": note},
                               [self.xy[uv[link][0]], self.xy[uv[link][1]]]))
        return feats

    def stations(self) -> list[dict[str, Any]]:
        st = self.run.city.get("stations")
        if st is None:
            return []
        feats = []
        for p in _records(st):
            r = p
            p["n_units"] = len(str(r["units"]).split())
            feats.append(_point(p, self.xy[int(r["node"])]))
        return feats

    def facilities(self) -> list[dict[str, Any]]:
        fac = self.run.city.get("facilities")
        if fac is None:
            return []
        return [_point(p, self.xy[int(p["node"])]) for p in _records(fac)]

    def zones(self) -> list[dict[str, Any]]:
        zones, nodes = self.run.city.get("zones"), self.run.city.get("nodes")
        if zones is None or nodes is None or zones.empty:
            return []
        x, y = nodes["x_m"].to_numpy(float), nodes["y_m"].to_numpy(float)
        zx, zy = zones["x_m"].to_numpy(float), zones["y_m"].to_numpy(float)
        member = np.argmin((x[:, None] - zx[None, :]) ** 2 + (y[:, None] - zy[None, :]) ** 2, axis=1)
        feats = []
        for k, p in enumerate(_records(zones)):
            ring = _hull(x[member == k], y[member == k], float(zx[k]), float(zy[k]))
            lon, lat = self.transform(ring[:, 0], ring[:, 1])
            coords = [[round(float(a), self.decimals), round(float(b), self.decimals)]
                      for a, b in zip(lon, lat, strict=True)]
            p["centre"] = self.point(float(zx[k]), float(zy[k]))
            feats.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [coords]},
                          "properties": p})
        return feats

    def incidents(self) -> list[dict[str, Any]]:
        return [_point(r, self.point(float(r["x_m"]), float(r["y_m"]))) for r in _records(self.run.incidents)]


def _line(props: dict[str, Any], coords: list[Point]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": coords}, "properties": props}


def _point(props: dict[str, Any], xy: Point) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": xy}, "properties": props}


def _hull(x: np.ndarray, y: np.ndarray, cx: float, cy: float) -> np.ndarray:
    """A closed ring, counter-clockwise (RFC 7946): the convex hull, or a 50 m square when too few points."""
    pts = np.unique(np.column_stack([x, y]), axis=0)
    if len(pts) >= 3:
        from scipy.spatial import ConvexHull, QhullError

        try:
            ring = pts[ConvexHull(pts).vertices]  # counter-clockwise in 2-D
            return np.vstack([ring, ring[:1]])
        except QhullError:
            pass
    d = 50.0
    return np.array([[cx - d, cy - d], [cx + d, cy - d], [cx + d, cy + d], [cx - d, cy + d], [cx - d, cy - d]])


def export_geojson(run_dir: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Write the layers of :data:`LAYERS` for the run at ``run_dir``; returns the files written."""
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "gis"
    layers = _Layers(run)
    outages, out_s, bursts = layers.outages()
    features = {
        "roads": layers.roads(), "pipes": layers.pipes(out_s, bursts), "stations": layers.stations(),
        "facilities": layers.facilities(), "zones": layers.zones(), "incidents": layers.incidents(), "closures": layers.closures(),
        "outages": outages,
    }
    written = []
    for name in LAYERS:
        path = out / f"{name}.geojson"
        doc = layers.collection(name, features[name])
        atomic_write(path, (json.dumps(doc, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n")
                     .encode("utf-8"))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="cityres-export", description="Export run folders for GIS (QGIS opens the GeoJSON layers).")
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s) written by cityres")
    parser.add_argument("--geojson", action="store_true", help="write GeoJSON layers (the only format so far)")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/gis); one run only")
    args = parser.parse_args(argv)
    if not args.geojson:
        parser.error("choose a format: --geojson")
    if args.out and len(args.runs) > 1:
        parser.error("--out takes one run folder")
    status = 0
    for run in args.runs:
        try:
            files = export_geojson(run, args.out)
        except (OSError, ValueError) as exc:
            print(f"cityres-export: {run}: {exc}", file=sys.stderr)
            status = 2
            continue
        print(files[0].parent)
    return status


if __name__ == "__main__":
    sys.exit(main())
