"""Reading a run folder back: the tables the engine wrote, checked against the schema.

This is where analysis meets the engine, and the only place that knows file
names. :func:`load_run` reads ``incidents.csv``, ``events.csv``,
``service.csv`` and ``hazards.csv`` (required), the ``city/*.csv`` geometry
and ``summary.json`` (optional, since the report is written before the summary
exists), and checks every table against the column lists in :mod:`sim.log`.
Everything downstream (metrics, resilience, report) works on the returned
:class:`Run` and never touches the disk.

Conventions kept here so that metrics need not repeat them: times are float
seconds with ``NaN`` where a time never came; text columns are ``str`` with
``""`` for empty cells.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.log import (
    CITY_FILES,
    EVENT_COLUMNS,
    HAZARD_COLUMNS,
    INCIDENT_COLUMNS,
    LATER_INCIDENT_COLUMNS,
    SERVICE_COLUMNS,
)

__all__ = ["REQUIRED_FILES", "Run", "atomic_write", "load_run", "run_horizon"]

#: Tables every run folder must hold, with the columns each must have.
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "incidents.csv": tuple(c for c in INCIDENT_COLUMNS if c not in LATER_INCIDENT_COLUMNS),
    "events.csv": EVENT_COLUMNS,
    "service.csv": SERVICE_COLUMNS,
    "hazards.csv": HAZARD_COLUMNS,
}

# Text columns by file; every other column is numeric.
_TEXT: dict[str, tuple[str, ...]] = {
    "incidents.csv": ("type", "source", "scope", "zone", "first_unit", "outcome"),
    "events.csv": ("kind", "scope", "note"),
    "service.csv": ("lifeline", "cause"),
    "hazards.csv": ("hazard", "kind", "scope", "params"),
    "nodes.csv": (),
    "links.csv": (),
    "stations.csv": ("station", "kind", "units"),
    "zones.csv": ("zone", "name"),
    "pipes.csv": ("pipe", "material"),
    "facilities.csv": ("facility", "kind", "zone"),
}


@dataclass
class Run:
    """The tables of one run folder.

    ``city`` maps a geometry table name without extension (``nodes``,
    ``links``, ``stations``, ``zones``, ``pipes``) to its frame, for the files
    present. ``summary`` is the parsed ``summary.json``, or ``{}``.
    """

    path: Path
    incidents: pd.DataFrame
    events: pd.DataFrame
    service: pd.DataFrame
    hazards: pd.DataFrame
    city: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _read_table(path: Path, columns: Sequence[str], optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read one CSV, check its header and normalise the column types (``optional`` ones when present)."""
    text_cols = [c for c in _TEXT.get(path.name, ()) if c in columns]
    try:
        df = pd.read_csv(path, dtype={c: str for c in text_cols}, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as exc:
        raise ValueError(f"{path}: empty file, expected a header row with columns {list(columns)}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; found {list(df.columns)}")
    for c in text_cols:
        df[c] = df[c].fillna("").astype(str)
    for c in [*columns, *(c for c in optional if c in df.columns)]:
        if c in text_cols:
            continue
        try:
            df[c] = pd.to_numeric(df[c])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: column {c!r} holds non-numeric values ({exc})") from exc
    return df


def load_run(path: str | Path) -> Run:
    """Read the run folder at ``path``.

    Raises :class:`FileNotFoundError` naming the folder or the missing table,
    and :class:`ValueError` naming the file and the missing or malformed
    column (or a ``summary.json`` that is not a JSON object).
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"run folder not found: {root}")
    tables: dict[str, pd.DataFrame] = {}
    for name, columns in REQUIRED_FILES.items():
        f = root / name
        if not f.is_file():
            raise FileNotFoundError(f"{f}: run folder has no {name}")
        # Columns added later are absent from older folders and stay absent there ("not recorded").
        tables[name] = _read_table(f, columns, LATER_INCIDENT_COLUMNS if name == "incidents.csv" else ())
    city: dict[str, pd.DataFrame] = {}
    for name, columns in CITY_FILES.items():
        f = root / "city" / name
        if f.is_file():
            city[name.removesuffix(".csv")] = _read_table(f, columns)
    summary: dict[str, Any] = {}
    sf = root / "summary.json"
    if sf.is_file():
        try:
            loaded = json.loads(sf.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{sf}: not valid JSON ({exc})") from exc
        if not isinstance(loaded, dict):
            raise ValueError(f"{sf}: expected a JSON object, got {type(loaded).__name__}")
        summary = loaded
    return Run(
        path=root,
        incidents=tables["incidents.csv"],
        events=tables["events.csv"],
        service=tables["service.csv"],
        hazards=tables["hazards.csv"],
        city=city,
        summary=summary,
    )


def run_horizon(run: Run, horizon_s: float | None = None, summary: Mapping[str, Any] | None = None) -> float:
    """The simulated horizon in seconds, from the first source that has it.

    Order: the explicit ``horizon_s``; ``summary["horizon_s"]`` (the argument,
    then ``run.summary``); the ``horizon`` event in ``events.csv``; the latest
    time in the events and service tables. Raises :class:`ValueError` when
    the result is not positive.
    """
    candidates: list[Any] = [horizon_s]
    for s in (summary, run.summary):
        if s:
            candidates.append(s.get("horizon_s"))
    for value in candidates:
        if value is not None:
            h = float(value)
            if not h > 0:
                raise ValueError(f"horizon_s must be positive, got {value!r}")
            return h
    ev = run.events
    marks = ev.loc[ev["kind"] == "horizon", "t_s"]
    if len(marks):
        return float(marks.max())
    latest = max(
        [float(ev["t_s"].max()) if len(ev) else 0.0, float(run.service["t_s"].max()) if len(run.service) else 0.0]
    )
    if not latest > 0:
        raise ValueError(f"{run.path}: cannot tell the horizon (no summary.json, no horizon event); pass horizon_s")
    return latest


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place (mode 644).

    A failed write leaves the previous file, and no temporary one, behind.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
