"""The comparison report: findings, tables and figures, as ``compare.md`` and a self-contained ``compare.html``.

:func:`report_context` turns a :class:`analysis.compare.Comparison` into
plain strings for the templates (``analysis/templates/compare.*.j2``);
:func:`write_comparison` gathers the runs' tables
(:func:`analysis.replicates.gather`), draws the figures
(:mod:`analysis.compare_figures`) and writes every file atomically:
``figures/*.png``, ``runs.csv`` (and ``runs.parquet``), ``effects.csv``,
``means.csv``, ``compare.md`` and ``compare.html``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from matplotlib.figure import Figure

from analysis.collect import counts, write_atomic, write_collection
from analysis.compare import Comparison, MetricResult
from analysis.compare_figures import (
    difference_map_caption,
    difference_map_figure,
    effects_figure,
    means_figure,
    response_cdf_figure,
    service_band_figure,
)
from analysis.figures import png_bytes
from analysis.inference import BOOTSTRAP_MIN_N, METHODS, Difference, Interval
from analysis.replicates import Replicates, gather

__all__ = ["FIGURES", "findings", "report_context", "write_comparison"]

#: Figure files: name -> (title, caption).
FIGURES: dict[str, tuple[str, str]] = {
    "effects.png": (
        "Differences from the baseline",
        "Mean difference (option − baseline) per metric. Thick bar: paired interval over runs matched by seed "
        "(common random numbers); thin grey bar: the unpaired (Welch) interval on the same runs.",
    ),
    "means.png": ("Option means", "Mean of each option over its replications, with its t interval."),
    "service.png": (
        "Water service across replications",
        "Top: mean served fraction Q(t) per option with the interval of the mean. Bottom: paired change in "
        "customers without water against the baseline, same seed, with its interval.",
    ),
    "response_cdf.png": (
        "Response-time distributions",
        "Share of emergency incidents reached within a time: the mean of the runs' ECDFs with its interval. "
        "Dashed: the GB 51080 dispatch-to-arrival target (5 min by default); dotted: the standards' fractile "
        "(90 % by default).",
    ),
    "map.png": (
        "Where outcomes differ",
        "Paired change by place, option − baseline, pooled over replications (the written report names the "
        "panels drawn: analysis.compare_figures.difference_map_caption).",
    ),
}


# --------------------------------------------------------------- formatting
def _decimals(ref: float) -> int:
    """Decimals that give ``ref`` (a half-width, or a magnitude) two significant digits, 0 to 4."""
    if not math.isfinite(ref) or ref <= 0:
        return 1
    return int(min(4, max(0, 1 - math.floor(math.log10(ref)))))


def _num(v: float, dec: int, unit: str = "", sign: bool = False) -> str:
    if not math.isfinite(v):
        return "–"
    text = f"{v:{'+' if sign else ''},.{dec}f}".replace("-", "−")
    if sign and float(f"{v:.{dec}f}") == 0:
        text = f"{0:.{dec}f}"
    return f"{text} {unit}".rstrip() if unit and unit != "share" else text


def _ref(iv: Interval) -> float:
    h = iv.half_width
    if math.isfinite(h) and h > 0:
        return h
    return abs(iv.estimate) / 100 if math.isfinite(iv.estimate) and iv.estimate else 1.0


def _ci(iv: Interval, dec: int, unit: str, sign: bool = False) -> str:
    if not math.isfinite(iv.low):
        return "–"
    return f"{_num(iv.low, dec, '', sign)} to {_num(iv.high, dec, unit, sign)}"


def _p(p: float, floor: float = 0.0) -> str:
    """A p-value for the reader, never finer than ``floor``, the smallest the method resolves."""
    if not math.isfinite(p):
        return "–"
    if floor > 0 and p <= floor:
        if floor < 0.001:
            return "< 0.001"
        e = math.floor(math.log10(floor))
        return f"≤ {math.ceil(floor / 10.0**e) * 10.0**e:.{max(0, -e)}f}"  # one digit, rounded up
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def _p_clause(d: Difference) -> str:
    text = _p(d.p_value, d.p_floor)
    return f"p {text}" if text[0] in "<≤" else f"p = {text}"


def _how(d: Difference) -> str:
    """The interval's method and seeds, and why it is not the one asked for."""
    how = f"{METHODS[d.method]}, {d.n} seeds"
    if d.note:
        how += f"; bootstrap refused: fewer than the {BOOTSTRAP_MIN_N} seeds it needs"
    return how


def _lower_first(label: str) -> str:
    return label[0].lower() + label[1:] if len(label) > 1 and label[1].islower() else label


def _n(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


# ----------------------------------------------------------------- findings
def _finding(cmp: Comparison, res: MetricResult, option: str) -> str:
    d = res.differences[option]
    p = d.paired
    label, unit = cmp.label(res.metric)
    name = _lower_first(label)
    if p.n < 2:
        if not cmp.pair_on:  # one run per option (no seed axis): nothing was paired
            return f"{option}: {name} has {p.n} run(s) against {cmp.baseline}, nothing to pair on: no interval."
        return f"{option}: {name} has {p.n} paired replication(s) with {cmp.baseline}: no interval."
    dec = _decimals(_ref(p))
    lvl = f"{round(100 * cmp.level)} % CI"
    how = _how(d)
    rel = f", {100 * d.relative:+.1f} %".replace("-", "−") if math.isfinite(d.relative) else ""
    if p.width == 0 and p.estimate == 0:
        return f"{option} and {cmp.baseline} give identical {name} in all {p.n} paired seeds (difference 0)."
    if p.excludes_zero():
        verb = "lowers" if p.estimate < 0 else "raises"
        return (f"{option} {verb} {name} by {_num(abs(p.estimate), dec, unit)}{rel} against {cmp.baseline}: "
                f"{lvl} {_ci(p, dec, unit, sign=True)} ({how}; {_p_clause(d)}).")
    return (f"{option} changes {name} by {_num(p.estimate, dec, unit, sign=True)}{rel} against {cmp.baseline}, "
            f"{lvl} {_ci(p, dec, unit, sign=True)} ({how}): the interval includes zero, no difference detectable.")


def findings(cmp: Comparison) -> list[str]:
    """One sentence per metric and option, the first metric first (the planner's question)."""
    return [_finding(cmp, res, o) for res in cmp.results for o in cmp.others]


# ------------------------------------------------------------------ context
def _effects_rows(cmp: Comparison) -> list[dict[str, Any]]:
    sections = []
    for res in cmp.results:
        label, unit = cmp.label(res.metric)
        rows = []
        for o in cmp.others:
            d = res.differences[o]
            dec = _decimals(_ref(d.paired))
            ratio = d.unpaired.width / d.paired.width if d.paired.width > 0 and math.isfinite(d.unpaired.width) else None
            rows.append({
                "option": o,
                "diff": _num(d.paired.estimate, dec, unit, sign=True),
                "rel": f"{100 * d.relative:+.1f} %".replace("-", "−") if math.isfinite(d.relative) else "–",
                "paired": _ci(d.paired, dec, unit, sign=True),
                "p": _p(d.p_value, d.p_floor),
                "unpaired": _ci(d.unpaired, dec, unit, sign=True),
                "ratio": f"{ratio:.1f}×" if ratio else "–",
                "n": d.n,
                "significant": d.paired.excludes_zero(),
            })
        sections.append({"metric": label, "key": res.metric, "unit": unit, "rows": rows})
    return sections


def _means_rows(cmp: Comparison) -> list[dict[str, Any]]:
    out = []
    for res in cmp.results:
        label, unit = cmp.label(res.metric)
        cells = []
        for o in cmp.options:
            m = res.means[o]
            dec = _decimals(_ref(m))
            cells.append({"mean": _num(m.estimate, dec, unit), "ci": _ci(m, dec, unit), "n": m.n})
        out.append({"metric": label, "key": res.metric, "cells": cells})
    return out


def _precision_rows(cmp: Comparison) -> list[dict[str, Any]]:
    out = []
    for res in cmp.results:
        label, unit = cmp.label(res.metric)
        dec = _decimals(res.target / 2 if res.target else math.nan)
        target = f"± {_num(res.target, dec, unit)}" if res.target else "–"
        for o in cmp.others:
            d = res.differences[o]
            out.append({
                "metric": label, "target": target, "rule": cmp.precision.describe(res.metric), "option": o,
                "now": f"± {_num(d.paired.half_width, dec, unit)} (n = {d.n})" if math.isfinite(d.paired.half_width)
                else "–",
                "paired": _n(res.needed_paired.get(o)), "unpaired": _n(res.needed_unpaired.get(o)),
                "mean": _n(res.needed_mean.get(o)),
            })
    return out


def _crn_text(cmp: Comparison) -> str:
    """Per option: did its pairs meet the baseline's hazards and background calls (options with equal counts together)."""
    if not cmp.crn:
        return "No runs are paired: every option has its own replications."
    words = {"hazards": "hazards", "calls": "background calls"}
    groups: dict[tuple[tuple[str, int, int], ...], list[str]] = {}
    for option, found in cmp.crn.items():
        groups.setdefault(tuple((k, same, n) for k, (same, n) in found.items()), []).append(option)
    lines = [f"Runs paired on {', '.join(cmp.pair_on)}, each option against {cmp.baseline}."]
    for seen, options in groups.items():
        if not seen:
            lines.append(f"{', '.join(options)}: no digests of the inputs to check.")
        elif len({(s, t) for _, s, t in seen}) == 1:
            _, same, total = seen[0]
            what = " and ".join(words[k] for k, _, _ in seen)
            lines.append(f"{', '.join(options)}: identical {what} in {same} of {total} pairs.")
        else:
            parts = ", ".join(f"identical {words[k]} in {s} of {t}" for k, s, t in seen)
            lines.append(f"{', '.join(options)}: {parts} pairs.")
    apart = [o for o, found in cmp.crn.items() if any(s < t for s, t in found.values())]
    if apart:
        lines.append(f"{', '.join(apart)} did not always meet the baseline's inputs: either the option "
                     "changes them on purpose (as a policy that prevents hazards does) or the scenario or city "
                     "streams differ. Those pairs share only part of their randomness, so pairing narrows the "
                     "interval less; the difference then includes the change of inputs.")
    return " ".join(lines)


def _facts(cmp: Comparison) -> list[tuple[str, str]]:
    runs = cmp.runs
    c = counts(cmp.collection)
    facts = []
    for col, label in (("scenario", "Scenario"),):
        if col in runs:
            facts.append((label, ", ".join(sorted(runs[col].astype(str).unique()))))
    facts += [
        ("Options", f"{len(cmp.options)}, by {', '.join(cmp.by)}"),
        ("Baseline", cmp.baseline),
        ("Replications", ", ".join(sorted({str(n) for n in cmp.replications.values()})) + " per option"),
        ("Paired on", ", ".join(cmp.pair_on) or "nothing (unpaired)"),
        ("Intervals", _intervals_fact(cmp)),
        ("Runs", f"{c['ok']} ok, {c['failed']} failed, {c['missing']} missing"),
    ]
    if "horizon_s" in runs:
        h = pd.to_numeric(runs["horizon_s"], errors="coerce").dropna().unique()
        facts.append(("Horizon", ", ".join(f"{v / 3600:g} h" for v in sorted(h))))
    return facts


def _used(cmp: Comparison) -> list[str]:
    """The methods that gave the paired intervals, in :data:`METHODS` order."""
    used = {d.method for r in cmp.results for d in r.differences.values()}
    return [m for m in METHODS if m in used] or [cmp.method]


def _intervals_fact(cmp: Comparison) -> str:
    text = f"{round(100 * cmp.level)} %, " + " and ".join(METHODS[m] for m in _used(cmp))
    if cmp.method == "bootstrap" and "bootstrap" not in _used(cmp):
        text += f" (bootstrap asked for; refused below {BOOTSTRAP_MIN_N} paired seeds)"
    return text


def report_context(cmp: Comparison) -> dict[str, Any]:
    """Everything the templates show, as plain strings and lists (figures are added by :func:`write_comparison`)."""
    scen = ", ".join(sorted(cmp.runs["scenario"].astype(str).unique())) if "scenario" in cmp.runs else ""
    others = ", ".join(cmp.others)
    what = f"{others} against {cmp.baseline}" if len(others) <= 60 else f"{len(cmp.options)} options of {', '.join(cmp.by)}"
    title = f"Comparison: {what}" + (f" · scenario {scen}" if scen else "")
    problems = [{"status": r["status"], "job": "" if pd.isna(r["job"]) else str(r["job"]),
                 "axes": " ".join(f"{a}={r[a]}" for a in cmp.collection.axes if str(r[a]) not in ("", "nan")),
                 "run": r["run"], "error": r["error"]} for _, r in cmp.collection.problems.iterrows()]
    return {
        "title": title,
        "sources": sorted(cmp.collection.table["sweep"].astype(str).unique()),
        "facts": _facts(cmp),
        "findings": findings(cmp),
        "lead": [_finding(cmp, cmp.results[0], o) for o in cmp.others],
        "options": cmp.options,
        "baseline": cmp.baseline,
        "effects": _effects_rows(cmp),
        "means": _means_rows(cmp),
        "precision": _precision_rows(cmp),
        "crn": _crn_text(cmp),
        "problems": problems,
        "notes": cmp.notes,
        "constant": [cmp.label(m)[0] for m in cmp.constant],
        "level": round(100 * cmp.level),
        "method": " and ".join(METHODS[m] for m in _used(cmp)),
        "bootstrap": "bootstrap" in _used(cmp),
        "resamples": f"{cmp.resamples:,}",
        "alpha": f"{1 - cmp.level:.2g}",
    }


# -------------------------------------------------------------------- files
def _templates(autoescape: bool) -> jinja2.Environment:
    folder = resources.files("analysis").joinpath("templates")
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: folder.joinpath(name).read_text(encoding="utf-8")),
        autoescape=autoescape, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _figures(cmp: Comparison, rep: Replicates | None) -> dict[str, Callable[[], Figure]]:
    figs: dict[str, Callable[[], Figure]] = {"effects.png": lambda: effects_figure(cmp),
                                             "means.png": lambda: means_figure(cmp)}
    if rep is not None:
        if any(len(v) and (v < 1).any() for v in rep.served.values()):
            figs["service.png"] = lambda: service_band_figure(rep, cmp)
        if any(s.size for v in rep.response.values() for s in v):
            figs["response_cdf.png"] = lambda: response_cdf_figure(rep, cmp)
        if len(rep.incidents) or len(rep.bursts):
            figs["map.png"] = lambda: difference_map_figure(rep, cmp)
    return figs


def _tables(cmp: Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    eff, means = [], []
    for res in cmp.results:
        for o in cmp.options:
            m = res.means[o]
            means.append({"metric": res.metric, "option": o, "n": m.n, "mean": m.estimate, "low": m.low,
                          "high": m.high, "sd": m.sd, "level": cmp.level,
                          "replications_needed": res.needed_mean.get(o)})
        for o, d in res.differences.items():
            eff.append({"metric": res.metric, "option": o, "baseline": cmp.baseline, "n_pairs": d.n,
                        "difference": d.paired.estimate, "low": d.paired.low, "high": d.paired.high,
                        "method": d.method, "p_value": d.p_value, "p_floor": d.p_floor, "relative": d.relative,
                        "unpaired_low": d.unpaired.low, "unpaired_high": d.unpaired.high,
                        "baseline_mean": d.baseline_mean, "option_mean": d.option_mean, "level": cmp.level,
                        "target_half_width": res.target, "replications_paired": res.needed_paired.get(o),
                        "replications_unpaired": res.needed_unpaired.get(o)})
    return pd.DataFrame(eff), pd.DataFrame(means)


def write_comparison(cmp: Comparison, out_dir: str | Path, figures: bool = True) -> dict[str, Path]:
    """Write the report into ``out_dir``; returns the paths by kind (``html``, ``md``, ``effects``, ...)."""
    root = Path(out_dir)
    rep = gather(cmp) if figures else None
    ctx = report_context(cmp)
    shown = []
    for name, build in (_figures(cmp, rep) if figures else {}).items():
        data = png_bytes(build())
        write_atomic(root / "figures" / name, data)
        title, caption = FIGURES[name]
        if name == "map.png" and rep is not None:
            caption = difference_map_caption(rep, cmp)
        shown.append({"name": name, "title": title, "caption": caption,
                      "data_uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii")})
    ctx["figures"] = shown
    ctx["figure"] = {f["name"]: f for f in shown}
    files: dict[str, Path] = {"runs": write_collection(cmp.collection, root / "runs.csv")[0]}
    eff, means = _tables(cmp)
    for kind, df in (("effects", eff), ("means", means)):
        write_atomic(root / f"{kind}.csv", df.to_csv(index=False).encode("utf-8"))
        files[kind] = root / f"{kind}.csv"
    md = _templates(autoescape=False).get_template("compare.md.j2").render(**ctx)
    write_atomic(root / "compare.md", md.encode("utf-8"))
    html = _templates(autoescape=True).get_template("compare.html.j2").render(**ctx)
    write_atomic(root / "compare.html", html.encode("utf-8"))
    files["md"], files["html"] = root / "compare.md", root / "compare.html"
    return files
