"""Collecting a sweep: one tidy row per run with its config axes and headline metrics.

Input is any mix of run folders, Hydra multirun folders (``multirun.yaml``
plus one folder per job) and folders holding either. A run folder is one with
a ``summary.json`` or Hydra's ``.hydra/overrides.yaml``. Per run we read:

- ``.hydra/overrides.yaml``: the config axes, one column per overridden key
  (``policy``, ``seed``, ``city.ambulance.people_per_ambulance``, ...);
- ``summary.json``: status, seed, scenario, policy and the headline metrics
  (recomputed from the tables with :func:`analysis.report.headline`, and for a
  storm :func:`analysis.flood.flood_headline` with its `dry/` twin, when
  absent, or on request);
- ``hazards.csv`` and the background calls of ``incidents.csv``: short
  digests, so a comparison can check that runs it pairs saw the same hazards
  and calls (common random numbers).

For a multirun folder the jobs the basic sweeper launched are expanded again
from ``multirun.yaml``; jobs with no folder, and folders with no
``summary.json``, are rows with status ``missing``; runs whose summary says
``failed`` keep their error. Nothing of that stops the collection.
:func:`main` is the ``cityres-collect`` command: CSV always, Parquet when
pyarrow is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import itertools
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.rundir import atomic_write as write_atomic

__all__ = [
    "META_COLUMNS",
    "Collection",
    "collect",
    "find_runs",
    "main",
    "parse_overrides",
    "sweep_jobs",
    "write_atomic",
    "write_collection",
]

#: Columns before the axes: where a row comes from and whether the run finished.
META_COLUMNS: tuple[str, ...] = ("sweep", "run", "job", "status", "error")
#: Columns from ``summary.json`` after the axes, before the metrics.
RUN_COLUMNS: tuple[str, ...] = (
    "scenario", "policy", "seed", "runtime_s", "n_incidents", "n_events", "hazards_digest", "calls_digest",
)
_SUMMARY_AXES = ("scenario", "policy", "seed")
_SKIP_DIRS = {".hydra", "city", "figures", "compare", "__pycache__"}


@dataclass
class Collection:
    """The tidy table of a sweep and what its columns are.

    ``axes`` are the overridden config keys in order of first appearance
    (the columns that tell the runs apart); ``metrics`` the headline metric
    columns. Rows with ``status != "ok"`` have no metrics.
    """

    table: pd.DataFrame
    axes: list[str] = field(default_factory=list)  # overridden keys, then scenario, policy, seed
    metrics: list[str] = field(default_factory=list)

    @property
    def ok(self) -> pd.DataFrame:
        return self.table[self.table["status"] == "ok"]

    @property
    def problems(self) -> pd.DataFrame:
        return self.table[self.table["status"] != "ok"]

    def varying(self, exclude: Iterable[str] = ()) -> list[str]:
        """The axes with more than one value among the finished runs."""
        skip = set(exclude)
        ok = self.ok
        return [a for a in self.axes if a not in skip and ok[a].astype(str).nunique() > 1]


# ------------------------------------------------------------------ overrides
def parse_overrides(lines: Sequence[str]) -> dict[str, str]:
    """``["policy=baseline", "seed=3"]`` -> ``{"policy": "baseline", "seed": "3"}``, by Hydra's parser.

    Keys lose their ``+``/``++``/``~`` prefix; a deletion (``~key``) is kept
    with an empty value.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out: dict[str, str] = {}
    for ov in OverridesParser.create().parse_overrides(list(lines)):
        if ov.is_delete():
            out[ov.key_or_group] = ""
        else:
            out[ov.key_or_group] = ov.get_value_element_as_str()
    return out


def sweep_jobs(sweep_dir: str | Path) -> list[list[str]] | None:
    """The override lists of the jobs a basic-sweeper multirun launched, in job-number order.

    Expands ``hydra.sweeper.params`` and then ``hydra.overrides.task`` from
    ``multirun.yaml`` the way Hydra's BasicSweeper does (later keys replace
    earlier ones; the cartesian product in key order). ``None`` when the
    folder has no ``multirun.yaml``, another sweeper ran, or the sweep cannot
    be expanded without the config (e.g. ``glob()`` over a config group).
    """
    f = Path(sweep_dir) / "multirun.yaml"
    if not f.is_file():
        return None
    try:
        conf = yaml.safe_load(f.read_text(encoding="utf-8"))
        hydra = conf["hydra"]
        if not str(hydra["sweeper"]["_target_"]).endswith("BasicSweeper"):
            return None
        params = hydra["sweeper"].get("params") or {}
        args = [f"{k}={v}" for k, v in params.items()] + list(hydra["overrides"]["task"] or [])
        from hydra.core.override_parser.overrides_parser import OverridesParser

        final: dict[str, list[str]] = {}
        for ov in OverridesParser.create().parse_overrides(args):
            key = ov.get_key_element()
            if ov.is_sweep_override():
                final[key] = [f"{key}={v}" for v in ov.sweep_string_iterator()]
            else:
                final[key] = [f"{key}={ov.get_value_element_as_str()}"]
        return [list(job) for job in itertools.product(*final.values())]
    except Exception:  # an unreadable or unusual multirun.yaml only costs the list of missing jobs
        return None


def _job_subdir_is_number(sweep_dir: Path) -> bool:
    try:
        conf = yaml.safe_load((sweep_dir / "multirun.yaml").read_text(encoding="utf-8"))
        return str(conf["hydra"]["sweep"]["subdir"]).replace(" ", "") == "${hydra.job.num}"
    except Exception:
        return False


# -------------------------------------------------------------------- finding
def _is_run(d: Path) -> bool:
    return (d / "summary.json").is_file() or (d / ".hydra" / "overrides.yaml").is_file()


def _natural(p: Path) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(p))]


def find_runs(root: str | Path) -> list[Path]:
    """Run folders at or under ``root``, in natural order (job 2 before job 10)."""
    base = Path(root)
    if _is_run(base):
        return [base]
    found: list[Path] = []
    for here, dirs, _ in os.walk(base):
        d = Path(here)
        if d != base and _is_run(d):
            found.append(d)
            dirs.clear()
            continue
        dirs[:] = [x for x in dirs if x not in _SKIP_DIRS and not x.startswith(".")]
    return sorted(found, key=_natural)


# -------------------------------------------------------------------- reading
def _digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:12]


def _calls_digest(incidents_csv: Path) -> str | None:
    """Digest of the background calls (type, time, place): the same for every option of one seed."""
    try:
        inc = pd.read_csv(incidents_csv, usecols=["source", "type", "t_occur_s", "node"], dtype=str,
                          keep_default_na=False)
    except (OSError, ValueError):
        return None
    calls = inc.loc[inc["source"] == "background", ["type", "t_occur_s", "node"]]
    return _digest(calls.to_csv(index=False).encode("utf-8"))


def _policy_label(value: str) -> str:
    return value.strip("[]").replace(",", "+") if value else value


def _read_overrides(run: Path) -> list[str]:
    f = run / ".hydra" / "overrides.yaml"
    if not f.is_file():
        return []
    loaded = yaml.safe_load(f.read_text(encoding="utf-8"))
    return [str(x) for x in loaded] if isinstance(loaded, list) else []


def _read_summary(run: Path) -> dict[str, Any] | None:
    f = run / "summary.json"
    if not f.is_file():
        return None
    try:
        loaded = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return {"status": "failed", "error": f"summary.json unreadable: {exc}"}
    return loaded if isinstance(loaded, dict) else {"status": "failed", "error": "summary.json is not an object"}


def _metrics(run: Path, summary: dict[str, Any], recompute: bool) -> dict[str, Any]:
    metrics = summary.get("metrics")
    if isinstance(metrics, dict) and metrics and not recompute:
        return metrics
    from analysis.report import headline
    from analysis.rundir import load_run

    loaded = load_run(run)
    out = headline(loaded)
    if (loaded.hazards["kind"] == "weather.rain").any():  # a storm: the flood metrics, as the run wrote them
        from analysis.flood import flood_headline, flood_metrics_flat

        dry = load_run(run / "dry") if (run / "dry" / "incidents.csv").exists() else None
        out.update(flood_metrics_flat(flood_headline(loaded, dry)))
    return out


def _row(run: Path, sweep: str, overrides: list[str], recompute: bool) -> tuple[dict[str, Any], dict[str, str]]:
    axes = parse_overrides(overrides)
    row: dict[str, Any] = {"sweep": sweep, "run": str(run), "job": None, "status": "missing", "error": ""}
    row.update({k: _policy_label(v) if k == "policy" else v for k, v in axes.items()})
    summary = _read_summary(run)
    if summary is None:
        row["error"] = "no summary.json: the job never started or was killed"
        return row, axes
    for k in _SUMMARY_AXES:
        if summary.get(k) is not None:
            row[k] = summary[k]
    city = summary.get("city")
    if isinstance(city, dict) and city.get("seed") is not None:  # the seed the city was drawn from
        row["city.seed"] = city["seed"]  # (`city.seed=null` and the run's own seed are one city)
    for k in ("runtime_s", "n_incidents", "n_events"):
        row[k] = summary.get(k)
    status = str(summary.get("status", ""))
    if status != "ok":
        row["status"] = "failed"
        row["error"] = str(summary.get("error") or f"status {status or 'unknown'}")
        return row, axes
    try:
        metrics = _metrics(run, summary, recompute)
        hz = run / "hazards.csv"
        row["hazards_digest"] = _digest(hz.read_bytes()) if hz.is_file() else None
        row["calls_digest"] = _calls_digest(run / "incidents.csv")
    except (OSError, ValueError) as exc:
        row["status"] = "failed"
        row["error"] = f"{type(exc).__name__}: {exc}"
        return row, axes
    row["status"] = "ok"
    row.update({f"metric:{k}": v for k, v in metrics.items()})
    return row, axes


def _config_value(run: str, key: str, cache: dict[str, Any]) -> Any:
    """The value of a dotted key in the run's ``.hydra/config.yaml`` (None when absent or not a scalar)."""
    if run not in cache:
        f = Path(run) / ".hydra" / "config.yaml"
        try:
            cache[run] = yaml.safe_load(f.read_text(encoding="utf-8")) if f.is_file() else None
        except (OSError, yaml.YAMLError):
            cache[run] = None
    node = cache[run]
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str | int | float | bool) else None


def _coerce(series: pd.Series) -> pd.Series:
    """Numbers as numbers, flags as nullable booleans, anything else as text."""
    values = [v for v in series if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if values and all(isinstance(v, bool) for v in values):
        return series.astype("boolean")
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().sum() == len(values):
        if len(values) == len(series) and (numeric % 1 == 0).all():
            return numeric.astype("int64")
        return numeric.astype("float64")
    return series.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))


def collect(paths: Sequence[str | Path], recompute: bool = False) -> Collection:
    """One row per run found under ``paths`` (see the module notes), plus the missing jobs."""
    rows: list[dict[str, Any]] = []
    axes: list[str] = []
    for src in paths:
        root = Path(src)
        if not root.exists():
            rows.append({"sweep": str(src), "run": str(src), "status": "missing", "error": "folder not found"})
            continue
        expected = sweep_jobs(root)
        index = {frozenset(job): i for i, job in enumerate(expected or [])}
        numbered = expected is not None and _job_subdir_is_number(root)
        seen: set[int] = set()
        for run in find_runs(root):
            overrides = _read_overrides(run)
            row, ax = _row(run, str(src), overrides, recompute)
            job = index.get(frozenset(overrides))
            if job is None and run.name.isdigit() and run.parent == root:
                job = int(run.name)
            row["job"] = job
            if job is not None:
                seen.add(job)
            axes += [a for a in ax if a not in axes]
            rows.append(row)
        for i, job_overrides in enumerate(expected or []):
            if i in seen:
                continue
            ax = parse_overrides(job_overrides)
            axes += [a for a in ax if a not in axes]
            row = {"sweep": str(src), "run": str(root / str(i)) if numbered else "", "job": i,
                   "status": "missing", "error": "no run folder: the job never started"}
            row.update({k: _policy_label(v) if k == "policy" else v for k, v in ax.items()})
            rows.append(row)
    return _table(rows, axes)


def _table(rows: list[dict[str, Any]], axes: list[str]) -> Collection:
    axes = axes + [a for a in _SUMMARY_AXES if a not in axes]
    # A run that did not override an axis ran with the config's value: fill it from Hydra's record.
    cache: dict[str, Any] = {}
    for row in rows:
        for a in axes:
            if row.get(a) is None and row.get("run") and a not in _SUMMARY_AXES:
                row[a] = _config_value(row["run"], a, cache)
    metric_keys: list[str] = []
    for row in rows:
        metric_keys += [k for k in row if k.startswith("metric:") and k not in metric_keys]
    axis_cols = [a for a in axes if a not in META_COLUMNS]
    run_cols = [c for c in RUN_COLUMNS if c not in axis_cols]
    metrics = [k.removeprefix("metric:") for k in metric_keys]
    clash = set(metrics) & (set(axis_cols) | set(run_cols) | set(META_COLUMNS))
    names = {k: (f"metric_{m}" if m in clash else m) for k, m in zip(metric_keys, metrics, strict=True)}
    columns = list(META_COLUMNS) + axis_cols + run_cols + metric_keys
    df = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns)
    for c in columns:
        if c not in ("sweep", "run", "status", "error"):
            df[c] = _coerce(df[c])
    df["job"] = df["job"].astype("Int64")
    for c in ("sweep", "run", "status", "error"):
        df[c] = df[c].fillna("").astype(str)
    df = df.rename(columns=names)
    return Collection(table=df.reset_index(drop=True), axes=axis_cols, metrics=[names[k] for k in metric_keys])


# -------------------------------------------------------------------- writing
def has_parquet() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def write_collection(coll: Collection, csv_path: str | Path, parquet: bool = True) -> list[Path]:
    """Write the table as CSV, and as Parquet (same name, ``.parquet``) when pyarrow is installed."""
    out = Path(csv_path)
    write_atomic(out, coll.table.to_csv(index=False).encode("utf-8"))
    written = [out]
    if parquet and has_parquet():
        buf = io.BytesIO()
        coll.table.to_parquet(buf, index=False)
        pq = out.with_suffix(".parquet")
        write_atomic(pq, buf.getvalue())
        written.append(pq)
    return written


def describe_problems(coll: Collection) -> list[str]:
    """One line per failed or missing run: status, job, axes, where, why."""
    lines = []
    for _, r in coll.problems.iterrows():
        job = "" if pd.isna(r["job"]) else f"job {r['job']} "
        axes = " ".join(f"{a}={r[a]}" for a in coll.axes if str(r[a]) != "")
        lines.append(f"{r['status']:<8}{job}{axes}  {r['run']}  {r['error']}".rstrip())
    return lines


def counts(coll: Collection) -> dict[str, int]:
    s = coll.table["status"]
    return {"runs": int(len(s)), "ok": int((s == "ok").sum()), "failed": int((s == "failed").sum()),
            "missing": int((s == "missing").sum())}


# ------------------------------------------------------------------------ CLI
def main(argv: Sequence[str] | None = None) -> int:
    """``cityres-collect DIR ... [-o runs.csv]``: exit 0 when at least one run finished, 1 otherwise."""
    ap = argparse.ArgumentParser(
        prog="cityres-collect",
        description="Collect run folders (a multirun folder, several run folders, or folders holding them) into "
                    "one tidy table: a row per run with its config axes and headline metrics.",
    )
    ap.add_argument("dirs", nargs="+", metavar="DIR", help="multirun folder, run folder, or a folder holding them")
    ap.add_argument("-o", "--output", metavar="CSV",
                    help="the CSV to write (default: DIR/runs.csv for one DIR, ./runs.csv for several); "
                         "a .parquet file is written beside it when pyarrow is installed")
    ap.add_argument("--recompute", action="store_true",
                    help="recompute the headline metrics from the tables instead of reading summary.json")
    ap.add_argument("--no-parquet", action="store_true", help="write CSV only")
    args = ap.parse_args(argv)
    missing = [d for d in args.dirs if not Path(d).is_dir()]
    if missing:  # a mistyped path: say so, and write no table into a folder made up for it
        print(f"cityres-collect: no such folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    coll = collect(args.dirs, recompute=args.recompute)
    out = Path(args.output) if args.output else (Path(args.dirs[0]) if len(args.dirs) == 1 else Path()) / "runs.csv"
    c = counts(coll)
    if c["runs"] == 0:
        print(f"cityres-collect: no run folders under {' '.join(args.dirs)}", file=sys.stderr)
        return 1
    files = write_collection(coll, out, parquet=not args.no_parquet)
    print(f"cityres-collect: {c['runs']} runs: {c['ok']} ok, {c['failed']} failed, {c['missing']} missing; "
          f"axes: {', '.join(coll.axes) or 'none'}")
    for line in describe_problems(coll):
        print(f"  {line}", file=sys.stderr)
    if not args.no_parquet and not has_parquet():
        print("cityres-collect: pyarrow is not installed: CSV only (pip install pyarrow for Parquet)",
              file=sys.stderr)
    for f in files:
        print(f)
    return 0 if c["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
