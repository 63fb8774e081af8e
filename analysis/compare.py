"""Comparing options over replications: means, paired differences and the replications a precision needs.

Data flow: :func:`analysis.collect.collect` (one row per run) → :func:`compare`
(options, pairs, intervals: a :class:`Comparison`; it reads nothing but the
runs' ``standards.fractile`` from their ``summary.json``, for the labels) →
:func:`analysis.compare_report.write_comparison` (figures, ``compare.md``,
``compare.html``). :func:`main` is the ``cityres-compare`` command.

An *option* is one combination of values of the ``by`` axes (by default every
axis that varies except ``seed``: ``policy``, or a unit count). Runs of two
options are *paired* when they agree on every other varying axis (by default
the seed): with common random numbers they saw the same hazards and the same
background calls, which :func:`compare` checks from the digests the
collection keeps. Statistics are in :mod:`analysis.inference`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.collect import Collection, collect, counts, describe_problems
from analysis.inference import (
    BOOTSTRAP_MIN_N,
    METHODS,
    Difference,
    Interval,
    mean_interval,
    paired_difference,
    replications_needed,
    welch_dof_factor,
)
from analysis.metric_labels import METRIC_LABELS, metric_label

__all__ = [
    "DEFAULT_METRICS",
    "Comparison",
    "METRIC_LABELS",
    "MetricResult",
    "Precision",
    "compare",
    "main",
    "metric_label",
    "parse_baseline",
    "parse_precision",
]

#: Metrics compared when none are named (those present and not constant across runs).
DEFAULT_METRICS: tuple[str, ...] = (
    "response_p90_s",
    "dispatch_to_arrival_p90_s",
    "water_customer_hours_lost",
    "water_resilience_loss_h",
)
#: Axes that number replications rather than tell options apart (``city.seed``: one generated city each).
REPLICATION_AXES: tuple[str, ...] = ("seed", "city.seed")

@dataclass(frozen=True)
class Precision:
    """The half-width a comparison should reach: ``relative`` × |baseline mean|, or an absolute value per metric."""

    relative: float = 0.05
    absolute: Mapping[str, float] = field(default_factory=dict)

    def target(self, metric: str, baseline_mean: float) -> float | None:
        if metric in self.absolute:
            return float(self.absolute[metric])
        if math.isfinite(baseline_mean) and baseline_mean != 0:
            return self.relative * abs(baseline_mean)
        return None

    def describe(self, metric: str) -> str:
        if metric in self.absolute:
            return f"± {self.absolute[metric]:g}"
        return f"± {100 * self.relative:g} % of the baseline mean"


@dataclass
class MetricResult:
    """One metric: option means, differences against the baseline, and replications needed.

    ``needed_paired`` / ``needed_unpaired``: replications per option for the
    difference's half-width to reach ``target`` when paired by seed, or with
    independent runs; ``needed_mean``: for an option's own mean.
    """

    metric: str
    means: dict[str, Interval]
    differences: dict[str, Difference]
    target: float | None
    needed_mean: dict[str, int | None]
    needed_paired: dict[str, int | None]
    needed_unpaired: dict[str, int | None]


@dataclass
class Comparison:
    """Everything the comparison report shows, computed from a :class:`Collection`.

    ``crn[option]["hazards"]`` (and ``["calls"]``) is (pairs whose option run
    saw the same hazards as the baseline run, pairs with both digests).
    ``fractile`` is the runs' ``standards.fractile`` when they all ran with
    the same one (None when unknown or mixed); :meth:`label` names metrics
    with it.
    """

    collection: Collection
    by: list[str]
    pair_on: list[str]
    baseline: str
    options: list[str]
    runs: pd.DataFrame
    results: list[MetricResult]
    level: float
    method: str
    precision: Precision
    crn: dict[str, dict[str, tuple[int, int]]]
    constant: list[str]
    notes: list[str]
    resamples: int = 10_000
    fractile: float | None = None

    def label(self, metric: str) -> tuple[str, str]:
        """(readable name, unit) of ``metric`` for these runs (see :func:`metric_label`)."""
        return metric_label(metric, self.fractile)

    @property
    def others(self) -> list[str]:
        return [o for o in self.options if o != self.baseline]

    def result(self, metric: str) -> MetricResult:
        return next(r for r in self.results if r.metric == metric)

    @property
    def replications(self) -> dict[str, int]:
        return {o: int((self.runs["option"] == o).sum()) for o in self.options}


# ------------------------------------------------------------------ parsing
def _text(v: Any) -> str:
    """An axis value as text: 30000.0 -> "30000", "[a,b]" policies as "a+b"."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v)
    return s.strip("[]").replace(",", "+") if s.startswith("[") else s


def parse_baseline(items: Sequence[str] | None) -> dict[str, str]:
    """``["policy=baseline"]`` -> ``{"policy": "baseline"}``; ``KEY=VALUE`` items, also comma-free lists."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--baseline expects KEY=VALUE (e.g. policy=baseline), got {item!r}")
        out[key.strip().lstrip("+~")] = _text(value.strip())
    return out


def parse_precision(items: Sequence[str] | None) -> Precision:
    """``["5%"]``, ``["0.05"]`` (relative) and ``["response_p90_s=10"]`` (absolute, metric units)."""
    rel, absolute = 0.05, {}
    for item in items or ():
        if "=" in item:
            k, _, v = item.partition("=")
            absolute[k.strip()] = float(v)
        else:
            text = item.strip()
            rel = float(text[:-1]) / 100.0 if text.endswith("%") else float(text)
        if rel <= 0 or any(v <= 0 for v in absolute.values()):
            raise ValueError(f"--precision must be positive, got {item!r}")
    return Precision(rel, absolute)


def _sort_key(label: str) -> list[Any]:
    return [(0, float(t), "") if re.fullmatch(r"-?\d+(\.\d+)?", t) else (1, 0.0, t)
            for t in re.split(r"(-?\d+(?:\.\d+)?)", label) if t]


# ------------------------------------------------------------------ compare
def _options(runs: pd.DataFrame, by: list[str]) -> pd.Series:
    """Option labels: the value of a single text axis (``pressure_monitoring``), else ``name=value`` pairs."""
    if len(by) == 1 and not pd.api.types.is_numeric_dtype(runs[by[0]]):
        return runs[by[0]].map(_text)
    short = {a: a.rsplit(".", 1)[-1] for a in by}
    if len(set(short.values())) < len(by) or any(v != a and v in runs.columns for a, v in short.items()):
        short = {a: a for a in by}  # city.seed beside the run's seed: the short names would read alike
    return runs[by].apply(lambda r: ", ".join(f"{short[a]}={_text(r[a])}" for a in by), axis=1)


def _pairs(runs: pd.DataFrame, pair_on: list[str], metric: str) -> pd.DataFrame:
    """Metric values with one row per pair key and one column per option (first run of duplicates)."""
    keys = pair_on or ["_all"]
    frame = runs.assign(_all=0) if not pair_on else runs
    return frame.groupby(keys + ["option"], sort=True, dropna=False)[metric].first().unstack("option")


def _crn(runs: pd.DataFrame, pair_on: list[str], options: list[str]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per option: of its pairs with the baseline, how many saw the baseline's hazards / background calls.

    ``{option: {"hazards": (same, pairs), "calls": (same, pairs)}}``, from the
    digests :mod:`analysis.collect` keeps; each option is checked against the
    baseline run of the same pair key (the first of duplicates), not against
    the other options, so one option that changes the hazards on purpose does
    not unpair the rest. ``options[0]`` is the baseline; the result follows
    their order.
    """
    out: dict[str, dict[str, tuple[int, int]]] = {}
    if not pair_on:
        return out
    cols = [c for c in ("hazards_digest", "calls_digest") if c in runs]
    first = runs.drop_duplicates(pair_on + ["option"])
    base = first[first["option"] == options[0]][pair_on + cols]
    for option in options[1:]:
        rows = first[first["option"] == option]
        pairs = rows[pair_on + cols].merge(base, on=pair_on, suffixes=("", "_base"))
        found: dict[str, tuple[int, int]] = {}
        for col, name in (("hazards_digest", "hazards"), ("calls_digest", "calls")):
            if col in cols:
                known = pairs[col].notna() & pairs[f"{col}_base"].notna()  # runs without a digest cannot tell
                found[name] = (int((pairs[col] == pairs[f"{col}_base"])[known].sum()), int(known.sum()))
        out[option] = found
    return out


def compare(
    coll: Collection,
    baseline: Mapping[str, str] | None = None,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    level: float = 0.95,
    method: str = "t",
    precision: Precision | None = None,
    resamples: int = 10_000,
) -> Comparison:
    """Compare the options of a collection against a baseline (see the module notes).

    ``baseline`` maps axes to values (``{"policy": "baseline"}``); by default
    ``policy=baseline`` when that exists, else the first option. Raises
    :class:`ValueError` with a message for the command line when the runs
    cannot be compared as asked.
    """
    if method not in METHODS:
        raise ValueError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    precision = precision or Precision()
    runs = coll.ok.copy()
    if runs.empty:
        raise ValueError("no finished run to compare")
    notes: list[str] = []
    base = dict(baseline or {})
    for key in base:
        if key not in runs:
            raise ValueError(f"--baseline {key}=...: no such column; axes are {', '.join(coll.axes) or 'none'}")
    if by:
        by_axes = list(by)
    else:
        by_axes = coll.varying(exclude=REPLICATION_AXES)
        by_axes += [k for k in base if k not in by_axes]
    missing = [a for a in by_axes if a not in runs]
    if missing:
        raise ValueError(f"--by {', '.join(missing)}: no such column; axes are {', '.join(coll.axes)}")
    if not by_axes:
        raise ValueError(f"the runs differ in no axis but {' and '.join(REPLICATION_AXES)}: name the options with --by "
                         "(e.g. --by sweep to compare the folders given)")
    pair_on = [a for a in coll.varying() if a not in by_axes]
    runs["option"] = _options(runs, by_axes)
    options = sorted(runs["option"].unique(), key=_sort_key)
    if not base and "policy" in by_axes and (runs["policy"].map(_text) == "baseline").any():
        base = {"policy": "baseline"}
    if base:
        hit = pd.Series(True, index=runs.index)
        for k, v in base.items():
            hit &= runs[k].map(_text) == v
        chosen = sorted(runs.loc[hit, "option"].unique())
        if len(chosen) != 1:
            listed = "; ".join(options)
            raise ValueError(f"--baseline {' '.join(f'{k}={v}' for k, v in base.items())} matches "
                             f"{len(chosen)} options ({'; '.join(chosen) or 'none'}); options: {listed}")
        base_label = chosen[0]
    else:
        base_label = options[0]
        notes.append(f"No baseline named: the first option, {base_label}, is the baseline.")
    options = [base_label] + [o for o in options if o != base_label]
    if len(options) < 2:
        raise ValueError(f"only one option ({base_label}) among the finished runs: nothing to compare")
    dup = runs.duplicated(pair_on + ["option"]) if pair_on else runs.duplicated(["option"])
    if dup.any() and pair_on:
        notes.append(f"{int(dup.sum())} run(s) repeat an option and {', '.join(pair_on)} already seen: "
                     "the first of each is used.")
    chosen_metrics, constant = _metrics(coll, runs, metrics)
    results = [_result(m, runs, pair_on, options, level, method, precision, resamples) for m in chosen_metrics]
    refused = sorted({d.n for r in results for d in r.differences.values() if d.note})
    if refused:
        seeds = " or ".join(str(n) for n in refused)
        notes.append(f"Bootstrap asked for, but {seeds} paired seeds are fewer than the {BOOTSTRAP_MIN_N} a "
                     "percentile bootstrap needs: over so few seeds it covers far less than its level (about 75 % "
                     "for a nominal 95 % at 3 seeds) and its p-values are meaningless, so those differences use "
                     "the paired t interval and t-test.")
    return Comparison(coll, by_axes, pair_on, base_label, options, runs, results, level, method, precision,
                      _crn(runs, pair_on, options), constant, notes, resamples, standards_fractile(runs))


def standards_fractile(runs: pd.DataFrame) -> float | None:
    """The ``standards.fractile`` every run of ``runs`` wrote in its ``summary.json``.

    None when a run's summary cannot be read or does not say, or when the runs
    differ (a sweep over ``standards.fractile``): the labels then say "at the
    standards' fractile" rather than guess.
    """
    seen: set[float] = set()
    for run in runs["run"].dropna().astype(str).unique() if "run" in runs else ():
        try:
            summary = json.loads((Path(run) / "summary.json").read_text(encoding="utf-8"))
            value = float(summary["standards"]["fractile"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        seen.add(value)
    return seen.pop() if len(seen) == 1 else None


def _metrics(coll: Collection, runs: pd.DataFrame, metrics: Sequence[str] | None) -> tuple[list[str], list[str]]:
    if metrics:
        unknown = [m for m in metrics if m not in coll.metrics]
        if unknown:
            raise ValueError(f"--metric {', '.join(unknown)}: not a headline metric; "
                             f"metrics are {', '.join(coll.metrics)}")
        return list(metrics), []
    present = [m for m in DEFAULT_METRICS if m in runs]
    keep = [m for m in present if pd.to_numeric(runs[m], errors="coerce").nunique(dropna=True) > 1]
    if not keep:
        raise ValueError(f"the default metrics ({', '.join(present)}) are constant across runs; name one with --metric")
    return keep, [m for m in present if m not in keep]


def _sds(table: pd.DataFrame, option: str, base: str) -> tuple[float, float]:
    """Standard deviations of the two options over the runs the difference used (the paired table)."""
    if option not in table or base not in table:
        return math.nan, math.nan
    x, b = (pd.to_numeric(table[c], errors="coerce").to_numpy(float) for c in (option, base))
    keep = np.isfinite(x) & np.isfinite(b)  # the pairs paired_difference keeps
    x, b = x[keep], b[keep]
    return (float(x.std(ddof=1)) if x.size > 1 else math.nan, float(b.std(ddof=1)) if b.size > 1 else math.nan)


def _result(
    metric: str, runs: pd.DataFrame, pair_on: list[str], options: list[str], level: float, method: str,
    precision: Precision, resamples: int,
) -> MetricResult:
    values = pd.to_numeric(runs[metric], errors="coerce").astype(float)
    means = {o: mean_interval(values[runs["option"] == o].to_numpy(), level) for o in options}
    table = _pairs(runs.assign(**{metric: values}), pair_on, metric)
    base = options[0]
    target = precision.target(metric, means[base].estimate)
    diffs: dict[str, Difference] = {}
    need_m: dict[str, int | None] = {}
    need_p: dict[str, int | None] = {}
    need_u: dict[str, int | None] = {}
    for o in options:
        need_m[o] = replications_needed(means[o].sd, target, level) if target else None
        if o == base:
            continue
        if o in table and base in table:
            d = paired_difference(table[o].to_numpy(), table[base].to_numpy(), level, method, resamples)
        else:
            d = paired_difference([], [], level, method)
        diffs[o] = d
        need_p[o] = replications_needed(d.paired.sd, target, level) if target else None
        need_u[o] = replications_needed(d.unpaired.sd, target, level,
                                        dof_factor=welch_dof_factor(*_sds(table, o, base))) if target else None
    return MetricResult(metric, means, diffs, target, need_m, need_p, need_u)


# ------------------------------------------------------------------------ CLI
def main(argv: Sequence[str] | None = None) -> int:
    """``cityres-compare DIR ... --baseline policy=baseline``: 0 written, 1 nothing to compare, 2 bad arguments."""
    ap = argparse.ArgumentParser(
        prog="cityres-compare",
        description="Compare the options of a sweep against a baseline over replications: means and paired "
                    "differences with 95 % confidence intervals, the replications a precision needs, figures; "
                    "writes compare.html (self-contained, printable) and compare.md.",
    )
    ap.add_argument("dirs", nargs="+", metavar="DIR", help="multirun folder, run folders, or folders holding them")
    ap.add_argument("--baseline", action="append", metavar="KEY=VALUE",
                    help="the baseline option, e.g. policy=baseline (repeat for several axes)")
    ap.add_argument("--by", action="append", metavar="AXIS",
                    help="axis that names the options (repeatable; default: every varying axis but seed; "
                         "'sweep' compares the folders given)")
    ap.add_argument("--metric", action="append", metavar="NAME",
                    help=f"headline metric to compare (repeatable; the first leads the findings; default: "
                         f"{', '.join(DEFAULT_METRICS)})")
    ap.add_argument("--method", choices=sorted(METHODS), default="t",
                    help="interval of the paired differences: paired t (default) or percentile bootstrap "
                         f"(from {BOOTSTRAP_MIN_N} paired seeds; with fewer, the paired t is used and the report "
                         "says so)")
    ap.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    ap.add_argument("--precision", action="append", metavar="R%|METRIC=VALUE",
                    help="target half-width for the replications-needed table: relative to the baseline mean "
                         "(default 5%%) or absolute for one metric, e.g. response_p90_s=10")
    ap.add_argument("--resamples", type=int, default=10_000, help="bootstrap resamples (default 10000)")
    ap.add_argument("-o", "--output", metavar="DIR", help="output folder (default: FIRST_DIR/compare)")
    args = ap.parse_args(argv)
    if not 0 < args.level < 1:
        ap.error("--level must be between 0 and 1")
    if args.resamples < 1:
        ap.error("--resamples must be positive")
    try:
        base = parse_baseline(args.baseline)
        prec = parse_precision(args.precision)
    except ValueError as exc:
        ap.error(str(exc))
    coll = collect(args.dirs)
    c = counts(coll)
    print(f"cityres-compare: {c['runs']} runs: {c['ok']} ok, {c['failed']} failed, {c['missing']} missing",
          file=sys.stderr)
    for line in describe_problems(coll):
        print(f"  {line}", file=sys.stderr)
    if not c["ok"]:
        print("cityres-compare: no finished run to compare", file=sys.stderr)
        return 1
    try:
        cmp = compare(coll, base, args.by, args.metric, args.level, args.method, prec, args.resamples)
    except ValueError as exc:
        print(f"cityres-compare: {exc}", file=sys.stderr)
        return 2
    from analysis.compare_report import findings, write_comparison

    out = Path(args.output) if args.output else Path(args.dirs[0]) / "compare"
    files = write_comparison(cmp, out)
    for line in findings(cmp)[: max(1, len(cmp.others))]:
        print(line)
    print(files["html"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
