"""Writing the run folder: atomic files, fixed columns, byte-stable formatting.

Every file is written to a temporary name in the same folder and renamed into
place, so a crash never leaves a half-written table that looks like a result.
Floats are written with a fixed format so that the same config and seed give
byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sim.city import ROAD_CLASSES, City
from sim.dispatch import Incident
from sim.engine import RunLog
from sim.log import CITY_FILES, EVENT_COLUMNS, HAZARD_COLUMNS, INCIDENT_COLUMNS, SERVICE_COLUMNS

__all__ = ["atomic_write", "fmt", "write_city", "write_run_tables", "write_table"]


def fmt(v: Any) -> str:
    """Canonical cell text: '' for None, fixed-point with 6 decimals (trimmed) for floats."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return repr(v)
        text = f"{v:.6f}".rstrip("0").rstrip(".")
        return "0" if text == "-0" else text
    if hasattr(v, "item"):  # numpy scalar
        return fmt(v.item())
    return str(v)


def atomic_write(path: Path, data: str | bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_table(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([fmt(v) for v in row])
    atomic_write(path, buf.getvalue())


def _incident_row(inc: Incident, city: City) -> list[Any]:
    x = float(city.roads.x_m[inc.node])
    y = float(city.roads.y_m[inc.node])
    return [
        inc.id, inc.type, inc.severity, inc.source, inc.scope, inc.node, round(x, 1), round(y, 1), inc.zone,
        inc.t_occur, inc.t_report, inc.t_dispatch, inc.t_enroute, inc.t_arrival, inc.t_control,
        inc.t_close, inc.first_unit, inc.n_units, inc.outcome,
        None if inc.t_dispatch is None or inc.t_ready is None else inc.t_dispatch - inc.t_ready,
        inc.t_unit_dispatch,
    ]


def write_run_tables(run_dir: Path, log: RunLog, city: City, hazard_rows: list[tuple[Any, ...]]) -> None:
    run_dir = Path(run_dir)
    write_table(run_dir / "hazards.csv", HAZARD_COLUMNS, hazard_rows)
    write_table(run_dir / "events.csv", EVENT_COLUMNS, log.events)
    write_table(run_dir / "service.csv", SERVICE_COLUMNS, log.service)
    write_table(run_dir / "incidents.csv", INCIDENT_COLUMNS, (_incident_row(i, city) for i in log.incidents))


def write_city(run_dir: Path, city: City) -> None:
    """Geometry for maps (``city/*.csv``), so analysis never rebuilds the city."""
    d = Path(run_dir) / "city"
    r = city.roads
    write_table(
        d / "nodes.csv", CITY_FILES["nodes.csv"],
        ((i, round(float(r.x_m[i]), 1), round(float(r.y_m[i]), 1), round(float(r.elev_m[i]), 2))
         for i in range(r.n_nodes)),
    )
    write_table(
        d / "links.csv", CITY_FILES["links.csv"],
        ((i, int(r.u[i]), int(r.v[i]), int(r.road_class[i]), round(float(r.length_m[i]), 1),
          float(r.speed_kmh[i]), bool(r.bridge[i]), bool(r.tunnel[i]), bool(r.underpass[i]))
         for i in range(r.n_links)),
    )
    write_table(
        d / "stations.csv", CITY_FILES["stations.csv"],
        ((s.id, s.kind, s.node, round(float(r.x_m[s.node]), 1), round(float(r.y_m[s.node]), 1),
          " ".join(u.id for u in s.units)) for s in city.stations),
    )
    write_table(
        d / "zones.csv", CITY_FILES["zones.csv"],
        ((z.id, z.name, z.node, round(z.x_m, 1), round(z.y_m, 1), round(z.area_km2, 3), z.population,
          z.households) for z in city.zones),
    )
    w = city.water
    write_table(
        d / "pipes.csv", CITY_FILES["pipes.csv"],
        ((w.pipe_ids[j], int(w.u[j]), int(w.v[j]), round(float(w.length_m[j]), 1), float(w.diameter_mm[j]),
          w.material[j], int(w.install_year[j]), int(w.road_link[j])) for j in range(w.n_pipes)),
    )
    assert ROAD_CLASSES  # documented index of road_class


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
