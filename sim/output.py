"""Writing the run folder: atomic files, fixed columns, byte-stable formatting.

Every file is written to a temporary name in the same folder and renamed into
place, so a crash never leaves a half-written table that looks like a result.
Floats are written with a fixed format so that the same config and seed give
byte-identical files. Large tables (a metropolis's city files, a long run's
event log) are formatted and written in chunks of rows, so the text of a
whole table is never held in memory at once.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from sim.city import ROAD_CLASSES, City
from sim.dispatch import Incident
from sim.engine import CHUNK_ROWS, RunLog
from sim.log import CITY_FILES, EVENT_COLUMNS, HAZARD_COLUMNS, INCIDENT_COLUMNS, SERVICE_COLUMNS, Record

__all__ = ["CHUNK_ROWS", "RunSink", "atomic_stream", "atomic_write", "fmt", "write_city", "write_columns",
           "write_run_tables", "write_table"]


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


def _cell(v: Any) -> str:
    """:func:`fmt`, with the common cases (a finite float, a string, None) first."""
    if type(v) is float:
        if v - v == 0.0:  # finite
            text = f"{v:.6f}".rstrip("0").rstrip(".")
            return "0" if text == "-0" else text
    elif type(v) is str:
        return v
    elif v is None:
        return ""
    return fmt(v)


def event_cells(rows: Iterable[Record]) -> Iterator[tuple[str, ...]]:
    """The cells of ``events.csv`` rows, as ``fmt`` gives them: the event log's hot path (a row per event)."""
    for t, kind, scope, inc, value, note in rows:
        yield _cell(t), _cell(kind), _cell(scope), str(inc) if type(inc) is int else _cell(inc), _cell(value), \
            _cell(note)


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


@contextmanager
def atomic_stream(path: Path, binary: bool = False) -> Iterator[Any]:
    """A text file (UTF-8, no newline translation), or a binary one, that appears at ``path`` only
    when complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as fh:
            yield fh
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are for sharing
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


#: Rows formatted per chunk before a table is written on (bounds the text held in memory);
#: the engine hands a streamed log on in chunks of the same size (sim.engine.CHUNK_ROWS).


def write_table(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV table atomically, streamed to disk in chunks of :data:`CHUNK_ROWS` rows."""
    with atomic_stream(path) as fh:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for i, row in enumerate(rows, start=1):
            w.writerow([fmt(v) for v in row])
            if i % CHUNK_ROWS == 0:
                fh.write(buf.getvalue())
                buf.seek(0)
                buf.truncate()
        fh.write(buf.getvalue())


def _incident_row(inc: Incident, city: City) -> list[Any]:
    x = float(city.roads.x_m[inc.node])
    y = float(city.roads.y_m[inc.node])
    return [
        inc.id, inc.type, inc.severity, inc.source, inc.scope, inc.node, round(x, 1), round(y, 1), inc.zone,
        inc.t_occur, inc.t_report, inc.t_dispatch, inc.t_enroute, inc.t_arrival, inc.t_control,
        inc.t_close, inc.first_unit, inc.n_units, inc.outcome,
        None if inc.t_dispatch is None or inc.t_ready is None else inc.t_dispatch - inc.t_ready,
        inc.t_unit_dispatch,
        inc.t_full_alarm,
        None if inc.t_full_alarm is None else inc.full_alarm_travel,
    ]


def write_run_tables(run_dir: Path, log: RunLog, city: City, hazard_rows: list[tuple[Any, ...]]) -> None:
    """The run's tables; a log that streamed to a :class:`RunSink` of this folder is completed by it."""
    run_dir = Path(run_dir)
    write_table(run_dir / "hazards.csv", HAZARD_COLUMNS, hazard_rows)
    if isinstance(log.sink, RunSink):
        if log.sink.run_dir.resolve() != run_dir.resolve():
            raise ValueError(f"the log streamed to {log.sink.run_dir}, not to {run_dir}")
        log.sink.finish(log)
    else:
        write_table(run_dir / "events.csv", EVENT_COLUMNS, event_cells(log.events))
        write_table(run_dir / "incidents.csv", INCIDENT_COLUMNS, (_incident_row(i, city) for i in log.incidents))
    write_table(run_dir / "service.csv", SERVICE_COLUMNS, log.service)


class _TableStream:
    """A CSV table appended to in chunks under a temporary name; it appears at ``path`` only when complete."""

    def __init__(self, path: Path, columns: Sequence[str] | None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self.fh: TextIO = os.fdopen(fd, "w+", encoding="utf-8", newline="")
        if columns is not None:  # None: rows only (a part appended to another table at the end)
            self.write([columns], raw=True)

    def write(self, rows: Iterable[Sequence[Any]], raw: bool = False) -> None:
        """Append ``rows``: values through :func:`fmt`, or cells already formatted (``raw``)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerows(rows if raw else ([fmt(v) for v in row] for row in rows))
        self.fh.write(buf.getvalue())

    def close(self) -> None:
        self.fh.close()
        os.chmod(self.tmp, 0o644)  # mkstemp creates 0600; results are for sharing
        os.replace(self.tmp, self.path)

    def append_to(self, other: _TableStream) -> None:
        """Copy every row written so far to the end of ``other`` (in chunks; this table is left as it is)."""
        self.fh.flush()
        self.fh.seek(0)
        shutil.copyfileobj(self.fh, other.fh, 1 << 20)

    def abort(self) -> None:
        """Remove the partial table; never raises (a full disk may fail the close's flush too)."""
        try:
            self.fh.close()
        except OSError:
            pass
        finally:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass  # already renamed into place, or gone


class RunSink:
    """The engine's :class:`~sim.engine.LogSink` for a run folder: ``events.csv`` and ``incidents.csv``
    are written in chunks while the run goes on (same bytes as :func:`write_table` of the whole log).

    Until :meth:`finish` both live under temporary names, so a run that fails
    or is killed leaves no table that looks complete; :meth:`abort` removes them.
    """

    def __init__(self, run_dir: Path, city: City) -> None:
        self.run_dir = Path(run_dir)
        self.city = city
        # The third is a rows-only part: incidents raised during the run, final before the last
        # planned one and written after it (appended to incidents.csv by finish).
        parts = (("events.csv", EVENT_COLUMNS), ("incidents.csv", INCIDENT_COLUMNS), ("incidents.late.csv", None))
        streams: list[_TableStream] = []
        try:
            for name, columns in parts:
                streams.append(_TableStream(self.run_dir / name, columns))
        except BaseException:
            for stream in streams:
                stream.abort()
            raise
        self._events, self._incidents, self._late = streams

    def events(self, rows: list[Record]) -> None:
        self._events.write(event_cells(rows), raw=True)

    def incidents(self, rows: list[Incident]) -> None:
        self._incidents.write(_incident_row(i, self.city) for i in rows)

    def late_incidents(self, rows: list[Incident]) -> None:
        self._late.write(_incident_row(i, self.city) for i in rows)

    def finish(self, log: RunLog) -> None:
        """Write what the log still holds and put both tables in place."""
        self.events(log.events)
        self.incidents(log.incidents)
        self._late.append_to(self._incidents)
        if log.late:
            self.incidents(log.late)
        self._events.close()
        self._incidents.close()
        self._late.abort()  # its rows are in incidents.csv now: the part goes

    def abort(self) -> None:
        self._events.abort()
        self._incidents.abort()
        self._late.abort()


def _float_cells(values: Any, ndigits: int | None = None) -> list[str]:
    """``fmt(round(float(v), ndigits))`` for every value, without a call per cell."""
    vals = [float(v) for v in np.asarray(values, dtype=float).tolist()]
    if ndigits is not None:
        vals = [round(v, ndigits) for v in vals]
    if not all(math.isfinite(v) for v in vals):
        return [fmt(v) for v in vals]
    out = [f"{v:.6f}".rstrip("0").rstrip(".") for v in vals]
    return ["0" if c == "-0" else c for c in out]


def _int_cells(values: Any) -> list[str]:
    return [str(int(v)) for v in np.asarray(values).tolist()]


def _bool_cells(values: Any) -> list[str]:
    return ["1" if v else "0" for v in np.asarray(values).tolist()]


def write_columns(path: Path, columns: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
    """Like :func:`write_table`, from whole columns of formatted cells (same bytes, much faster).

    Falls back to the csv writer when a cell would need quoting.
    """
    if any(_needs_quotes(col) for col in cells):
        write_table(path, columns, zip(*cells, strict=True))
        return
    with atomic_stream(path) as fh:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(columns)
        fh.write(buf.getvalue())
        n = len(cells[0]) if cells else 0
        for start in range(0, n, CHUNK_ROWS):
            part = [col[start:start + CHUNK_ROWS] for col in cells]
            fh.write("\n".join(map(",".join, zip(*part, strict=True))))
            fh.write("\n")


def _needs_quotes(col: Sequence[str]) -> bool:
    return any(c == "" or "," in c or '"' in c or "\n" in c or "\r" in c for c in col)


def write_city(run_dir: Path, city: City) -> None:
    """Geometry for maps (``city/*.csv``), so analysis never rebuilds the city.

    Written column by column: a metropolis has ~10^5 nodes, links and pipes.
    """
    d = Path(run_dir) / "city"
    r = city.roads
    write_columns(
        d / "nodes.csv", CITY_FILES["nodes.csv"],
        [_int_cells(np.arange(r.n_nodes)), _float_cells(r.x_m, 1), _float_cells(r.y_m, 1),
         _float_cells(r.elev_m, 2)],
    )
    write_columns(
        d / "links.csv", CITY_FILES["links.csv"],
        [_int_cells(np.arange(r.n_links)), _int_cells(r.u), _int_cells(r.v), _int_cells(r.road_class),
         _float_cells(r.length_m, 1), _float_cells(r.speed_kmh), _bool_cells(r.bridge), _bool_cells(r.tunnel),
         _bool_cells(r.underpass)],
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
    write_columns(
        d / "pipes.csv", CITY_FILES["pipes.csv"],
        [[fmt(p) for p in w.pipe_ids], _int_cells(w.u), _int_cells(w.v), _float_cells(w.length_m, 1),
         _float_cells(w.diameter_mm), [fmt(m) for m in w.material], _int_cells(w.install_year),
         _int_cells(w.road_link)],
    )
    sites: list[tuple[str, str, int, str]] = [(f.id, f.kind, f.node, f.zone) for f in city.facilities]
    if city.power is not None:
        sites += [(s.id, "substation", s.node, "") for s in city.power.substations]
    sites += [(p.id, "pump_station", p.node, p.zone) for p in w.pumps]
    write_table(
        d / "facilities.csv", CITY_FILES["facilities.csv"],
        ((fid, kind, node, round(float(r.x_m[node]), 1), round(float(r.y_m[node]), 1), zone)
         for fid, kind, node, zone in sites),
    )
    assert ROAD_CLASSES  # documented index of road_class


def _json_clean(obj: Any) -> Any:
    """NaN and infinities as null: JSON has no such numbers (json.dumps would write bare NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, np.floating):
        return _json_clean(float(obj))
    return obj


def write_json(path: Path, obj: Any) -> None:
    """Strict JSON (a time that never came is null, not NaN), written atomically."""
    atomic_write(path, json.dumps(_json_clean(obj), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n")
