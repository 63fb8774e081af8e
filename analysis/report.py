"""The per-run report: headline metrics, figures, ``report.md`` and a self-contained ``report.html``.

Data flow: :func:`analysis.rundir.load_run` → metrics (:mod:`analysis.metrics`,
:mod:`analysis.resilience`) → :func:`headline` (flat numbers for
``summary.json``) and :func:`report_context` (everything the templates show)
→ :func:`write_report`, the only function here that touches the disk. Figures
come from :mod:`analysis.figures` and :mod:`analysis.citymap`; the templates
are ``analysis/templates/*.j2``, found through :mod:`importlib.resources`.
Every file is written to a temporary name in its folder and renamed into
place, so a crash never leaves a half-written report.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from analysis.citymap import city_map_figure
from analysis.figures import (
    fmt_duration,
    fmt_hours,
    lifelines_figure,
    png_bytes,
    response_time_figure,
    water_service_figure,
)
from analysis.fire import case_rows, fire_headline, fire_table, fire_timeline_figure, has_fires
from analysis.lifelines import cascade_share, cascade_tree, lifeline_table, tree_lines
from analysis.metrics import (
    COMPONENTS,
    MEASURES,
    Compliance,
    Standards,
    emergency,
    outcome_counts,
    response_components,
    response_table,
    standards_compliance,
    summarize,
)
from analysis.resilience import ServiceResilience, service_curve, service_resilience
from analysis.rundir import Run, atomic_write, load_run, run_horizon

__all__ = ["FIGURES", "headline", "report_context", "write_report"]

#: Figure files under ``figures/``: name -> (title, caption).
FIGURES: dict[str, tuple[str, str]] = {
    "response_times.png": (
        "Response times",
        "Cumulative share of emergency incidents reached within a time, by type; dots mark the fractile. "
        "Dashed: GB 51080 dispatch-to-arrival target and NFPA 1710 travel target.",
    ),
    "water_service.png": (
        "Water service",
        "Served fraction Q(t) of water customers; the shaded area is the Bruneau resilience loss ∫(1 − Q) dt.",
    ),
    "lifelines.png": (
        "Lifelines",
        "Served fraction Q(t) of each lifeline; dashed: water customers cut off only by a power cascade "
        "(booster pumps and high-rise boosters without power).",
    ),
    "fire_timeline.png": (
        "E-bike fires: timeline",
        "Per high-rise fire, minutes after ignition: detection, call, dispatch, first arrival, first water; "
        "ticks mark floors becoming untenable (darker = higher). Coarse model (sim/fire.py).",
    ),
    "map.png": (
        "Map",
        "Roads by class, stations, incidents by type (hollow: never reached), burst mains and isolated segments, "
        "and the zones without power at the worst moment of an outage.",
    ),
}

_LIFELINES = ("water",)


def _num(v: Any) -> Any:
    """A JSON-ready scalar: numpy to Python, NaN/inf to None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        # Ten significant digits: drops float noise (56.09599999999773) but keeps ms on a year's horizon.
        return float(f"{v:.10g}") if math.isfinite(v) else None
    return v


def _merged_summary(run: Run, summary: Mapping[str, Any] | None) -> dict[str, Any]:
    merged = dict(run.summary)
    merged.update(summary or {})
    return merged


def _standards(standards: Any, summary: Mapping[str, Any]) -> Standards:
    return Standards.of(standards if standards is not None else summary.get("standards"))


def headline(
    run: Run,
    *,
    horizon_s: float | None = None,
    standards: Standards | Mapping[str, Any] | object | None = None,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The flat headline metrics of a run (JSON-ready: int, float, bool or None).

    Incident counts are over all incidents; response-time fractiles and
    compliance over emergency incidents (every type but utility work orders)
    that were reached; lifeline metrics (prefix ``water_``) over [0, horizon].
    ``horizon_s`` and ``standards`` default to ``summary``/``summary.json``,
    then to the ``horizon`` event and the StandardsConfig defaults.
    """
    meta = _merged_summary(run, summary)
    h = run_horizon(run, horizon_s, meta)
    std = _standards(standards, meta)
    comps = response_components(run.incidents)
    emer = emergency(comps)
    out: dict[str, Any] = {"horizon_s": h}
    out.update(outcome_counts(run.incidents))
    out["n_emergency"] = int(len(emer))
    for c in COMPONENTS:
        st = summarize(emer[c])
        out[f"{c}_p50_s"] = st.p50
        out[f"{c}_p90_s"] = st.p90
    out["response_mean_s"] = summarize(emer["response"]).mean
    for key, comp in standards_compliance(comps, std).items():
        out[f"{key}_compliance"] = comp.share
        out[f"{key}_compliance_lower"] = comp.share_lower
        out[f"{key}_fractile_s"] = comp.value_at_fractile
        out[f"{key}_pass"] = comp.passed
        # Not recorded (a folder written before the measure): unknown, not "0 incidents".
        out[f"{key}_n"] = comp.n if comp.recorded else None
        out[f"{key}_n_unmeasured"] = comp.n_unmeasured if comp.recorded else None
    lifelines = list(_LIFELINES) + sorted(set(run.service["lifeline"]) - set(_LIFELINES))
    for life in lifelines:
        res = service_resilience(run.service, h, life)
        key = str(life).replace(".", "_")
        for k, v in res.as_dict().items():
            if k not in ("lifeline", "horizon_s"):
                out[f"{key}_{k}"] = v
        if not str(life).endswith(".cascade"):
            out[f"{key}_cascade_share"] = cascade_share(run.service, h, str(life))
    out.update(fire_headline(run, meta))
    return {k: _num(v) for k, v in out.items()}


# ---------------------------------------------------------------- context
def _pct(share: float | None, digits: int = 1) -> str:
    return "–" if share is None else f"{100 * share:.{digits}f} %"


def _verdict(passed: bool | None) -> str:
    return "n/a" if passed is None else ("pass" if passed else "fail")


def _number(v: float | None, fmt: str, unit: str = "") -> str:
    return "–" if v is None else f"{v:{fmt}}{unit}"


def _facts(meta: Mapping[str, Any], city: Mapping[str, Any], city_name: str, h: float) -> list[tuple[str, str]]:
    facts = [("City", city_name)]
    if city.get("population"):
        facts.append(("Population", f"{int(city['population']):,}"))
    files = [f"{what} {Path(str(city[key])).name}" for key, what in (("roads_file", "roads"), ("water_file", "water"))
             if city.get(key)]
    if files:
        facts.append(("Loaded from", ", ".join(files)))
    if city.get("generated"):
        facts.append(("Generated around them", ", ".join(g.replace("_", " ") for g in str(city["generated"]).split())))
    for key, label in (("scenario", "Scenario"), ("policy", "Policy"), ("seed", "Seed")):
        if meta.get(key) is not None:
            facts.append((label, str(meta[key])))
    if city.get("seed") is not None and city["seed"] != meta.get("seed"):  # city.seed pins the city
        facts.append(("City seed", str(city["seed"])))
    start = meta.get("run_start")
    if start:
        text = str(start)
        try:
            t0 = datetime.fromisoformat(text)
            text = f"{t0:%Y-%m-%d %H:%M} to {t0 + timedelta(seconds=h):%Y-%m-%d %H:%M}"
        except ValueError:
            pass
        if meta.get("timezone"):
            text += f" ({meta['timezone']})"
        facts.append(("Period", text))
    facts.append(("Horizon", f"{h / 3600:.4g} h ({h:,.0f} s)"))
    return facts


def _start_label(meta: Mapping[str, Any]) -> str:
    start = meta.get("run_start")
    if not start:
        return ""
    try:
        label = f"{datetime.fromisoformat(str(start)):%Y-%m-%d %H:%M}"
    except ValueError:
        label = str(start)
    return f"{label} {meta['timezone']}" if meta.get("timezone") else label


_OBJECTIVES = (
    ("gb51080", "GB 51080 dispatch to arrival"),
    ("nfpa_turnout_fire", "NFPA 1710 turnout, fire"),
    ("nfpa_turnout_ems", "NFPA 1710 turnout, EMS"),
    ("nfpa_travel", "NFPA 1710 travel"),
    ("nfpa_travel_als", "NFPA 1710 ALS travel"),
    ("nfpa_full_alarm", "NFPA 1710 full alarm travel"),
    ("nfpa_full_alarm_highrise", "NFPA 1710 full alarm travel, high-rise"),
)


def _sections(
    counts: Mapping[str, int], emer: pd.DataFrame, comp: Mapping[str, Compliance], water: ServiceResilience, p: int
) -> list[dict[str, Any]]:
    """The headline table: (label, value, note) rows in four groups."""
    incidents = [
        ("All incidents", str(counts["n_incidents"]),
         f"{len(emer)} emergency, {counts['n_incidents'] - len(emer)} utility work orders"),
        ("Resolved", str(counts["n_resolved"]), "closed before the horizon"),
        ("Unserved", str(counts["n_unserved"]), "no capable unit exists"),
        ("Open at the horizon", str(counts["n_open_at_end"]),
         f"{counts['n_open_not_reached']} of them with no unit on scene yet"),
        ("Never reached", str(counts["n_not_reached"]), "not in the fractiles below; counted in every table"),
    ]
    response = []
    for col, label in COMPONENTS.items():
        st = summarize(emer[col])
        response.append((label, f"{fmt_duration(st.p50)} / {fmt_duration(st.p90)}", f"n = {st.count}"))
    objectives = []
    for key, label in _OBJECTIVES:
        c = comp[key]
        if not c.recorded:
            value, note = "not recorded", "this run folder was written before the measure existed"
        elif c.n:
            value = f"{_pct(c.share)} met; p{p} {fmt_duration(c.value_at_fractile)}"
            note = f"{_verdict(c.passed).upper()} at {p} %"
        else:
            value, note = "none measured", f"applies to {', '.join(c.types)}"
        if c.n_unmeasured:
            note += f"; {c.n_unmeasured} not measured"
        objectives.append((f"{label} ≤ {fmt_duration(c.target_s)}", value, note))
    recovered = water.time_to_recover_s is not None
    service = [
        ("Resilience loss RL = ∫(1 − Q) dt", fmt_hours(water.resilience_loss_s),
         f"{water.resilience_loss_pct:.3g} % of the horizon (Bruneau et al. 2003)"),
        ("Minimum served fraction", _pct(water.min_served, 2),
         f"at {water.t_min_s / 3600:.2f} h" if water.min_served < 1 else "service never dropped"),
        ("Time to recover", fmt_duration(water.time_to_recover_s) if recovered else "not recovered",
         "first drop to the last return to 100 %" if recovered else "still short of full service at the horizon"),
        ("Customer-hours lost", f"{water.customer_hours_lost:,.1f}", "∫ customers out dt (IEEE 1366 CHI analogue)"),
        ("SAIFI / SAIDI / CAIDI",
         f"{_number(water.saifi, '.3g')} / {_number(water.saidi_h, '.3g', ' h')} / "
         f"{_number(water.caidi_h, '.3g', ' h')}",
         f"over the run; N_T = {water.customers_total:,} customers"),
    ]
    return [
        {"name": "Incidents", "rows": incidents},
        {"name": "Response times, emergency incidents (p50 / p90, m:ss)", "rows": response},
        {"name": f"Compliance (share of incidents reached; pass if ≥ {p} %)", "rows": objectives},
        {"name": "Water service", "rows": service},
    ]


def _fire_sections(run: Run, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Headline rows for high-rise e-bike fires: a summary group with a row per fire, and any case replay."""
    if not has_fires(run, meta):
        return []
    t = fire_table(run)
    fh = fire_headline(run, meta)
    rows = [
        ("Fires", str(fh["fire_n"]), "e-bike battery fires in residential high-rises"),
        ("Time to first water (mean / max)",
         f"{fmt_duration(fh['fire_first_water_mean_s'])} / {fmt_duration(fh['fire_first_water_max_s'])}",
         f"from ignition; {fh['fire_n_no_water']} fire(s) without water by the horizon"),
        ("People exposed (expected)", f"{fh['fire_exposed_total']:.1f}", "to untenable conditions, all fires"),
        ("Expected casualties", f"{fh['fire_casualties_total']:.2f}", "coarse model (sim/fire.py), not a forecast"),
    ]
    for r in t.itertuples():
        water = fmt_duration(r.first_water_after_ignition_s) if r.t_first_water_s is not None else "none"
        rows.append((
            f"#{r.incident} {r.building}, {r.location} (floor {r.origin_floor}, {r.route})",
            f"water {water}; {r.floors_untenable} floors untenable",
            f"{r.detected_by}; exposed {r.exposed or 0:.1f}, casualties {r.casualties or 0:.2f}"
            + ("; second alarm" if r.second_alarm else "") + (f"; {r.water_via}" if r.water_via else ""),
        ))
    out = [{"name": "E-bike fires (first water from ignition, m:ss)", "rows": rows}]
    case = case_rows(run, str(meta.get("run_start") or "") or None)
    if case:
        out.append({"name": f"Case replay, a coarse reconstruction: {case[0][0]} (model / published)",
                    "rows": [(item, model, f"sources: {pub}" if item == "caveat" else f"published: {pub}")
                             for _, item, model, pub in case]})
    return out


def _compliance_rows(comp: Mapping[str, Compliance]) -> list[dict[str, Any]]:
    return [{
        "standard": c.standard,
        "measure": MEASURES[c.measure],
        "types": ", ".join(c.types),
        "target": fmt_duration(c.target_s),
        "n": c.n if c.recorded else "–",
        "met": f"{c.n_met} ({_pct(c.share)})" if c.recorded else "not recorded",
        "lower": _pct(c.share_lower),
        "fractile": fmt_duration(c.value_at_fractile),
        "unmeasured": c.n_unmeasured if c.recorded else "–",
        "verdict": _verdict(c.passed),
    } for c in comp.values()]


def _type_rows(comps: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for typ, r in response_table(comps).iterrows():
        rows.append({
            "type": str(typ).replace("_", " "),
            "n": int(r["n"]), "reached": int(r["n_reached"]), "unserved": int(r["n_unserved"]),
            "open": int(r["n_open_at_end"]),
            "cells": [f"{fmt_duration(r[f'{c}_p50'])} / {fmt_duration(r[f'{c}_p90'])}" for c in COMPONENTS],
        })
    return rows


def report_context(
    run: Run,
    *,
    horizon_s: float | None = None,
    standards: Standards | Mapping[str, Any] | object | None = None,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the templates show, as plain strings and lists (figures are added by :func:`write_report`)."""
    meta = _merged_summary(run, summary)
    h = run_horizon(run, horizon_s, meta)
    std = _standards(standards, meta)
    comps = response_components(run.incidents)
    comp = standards_compliance(comps, std)
    counts = outcome_counts(run.incidents)
    raw_city = meta.get("city")
    city: Mapping[str, Any] = raw_city if isinstance(raw_city, Mapping) else {}
    city_name = str(city.get("name") or raw_city or run.path.name)
    p = round(100 * std.fractile)
    bits = [str(b) for b in (meta.get("scenario"), meta.get("policy")) if b]
    title = f"{city_name}: " + (" · ".join(bits) if bits else "run report")
    if meta.get("seed") is not None:
        title += f" · seed {meta['seed']}"
    return {
        "title": title,
        "facts": _facts(meta, city, city_name, h),
        "warnings": [str(w) for w in meta.get("warnings") or []],
        "sections": _sections(counts, emergency(comps), comp, service_resilience(run.service, h, "water"), p)
        + _fire_sections(run, meta),
        "compliance": _compliance_rows(comp),
        "component_labels": list(COMPONENTS.values()),
        "type_rows": _type_rows(comps),
        "fractile_pct": p,
        "not_reached": counts["n_not_reached"],
        "standards": std.as_dict(),
        "start_label": _start_label(meta),
        "city_name": city_name,
        "lifelines": _lifeline_rows(run.service, h),
        "cascade": [{"depth": d, "text": t} for d, t in tree_lines(cascade_tree(run.events))],
    }


def _other_lifelines_dropped(service: pd.DataFrame) -> bool:
    """Whether a lifeline other than water lost customers (then the lifelines figure is drawn)."""
    other = service[service["lifeline"] != "water"]
    return bool(len(other) and (other["customers_out"] > 0).any())


def _lifeline_rows(service: pd.DataFrame, h: float) -> list[dict[str, str]]:
    """The lifelines table of the report, when the run has more than water."""
    rows = lifeline_table(service, h)
    if [r["lifeline"] for r in rows] == ["water"]:
        return []
    out = []
    for r in rows:
        rec = r["time_to_recover_s"]
        out.append({
            "lifeline": str(r["lifeline"]).capitalize(),
            "customers": f"{int(r['customers']):,}" if r["customers"] is not None else "–",
            "chl": f"{r['customer_hours_lost']:,.0f}",
            "saifi": _number(r["saifi"], ".3g"),
            "saidi": _number(r["saidi_h"], ".3g", " h"),
            "caidi": _number(r["caidi_h"], ".3g", " h"),
            "min": _pct(r["min_served"], 2),
            "recover": fmt_duration(rec) if rec is not None else "not recovered",
            "cascade": _pct(r["cascade_share"], 1),
        })
    return out


# ------------------------------------------------------------------ files
def _template_env(autoescape: bool) -> jinja2.Environment:
    folder = resources.files("analysis").joinpath("templates")

    def load(name: str) -> str:
        return folder.joinpath(name).read_text(encoding="utf-8")

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load), autoescape=autoescape, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


def write_report(
    run_dir: str | Path,
    *,
    horizon_s: float | None = None,
    standards: Standards | Mapping[str, Any] | object | None = None,
    summary: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``figures/*.png``, ``report.md`` and a self-contained ``report.html`` into ``run_dir``.

    ``summary`` (the run's summary so far) supplies the run facts and, like
    ``summary.json``, the horizon and standards when they are not passed.
    Returns ``{"metrics": headline(...), "files": [paths relative to run_dir]}``.
    """
    run = load_run(run_dir)
    meta = _merged_summary(run, summary)
    h = run_horizon(run, horizon_s, meta)
    std = _standards(standards, meta)
    ctx = report_context(run, horizon_s=h, standards=std, summary=meta)
    comps = emergency(response_components(run.incidents))
    figs = {
        "response_times.png": response_time_figure(comps, std),
        "water_service.png": water_service_figure(service_curve(run.service, h, "water"), run.events,
                                                  start_label=ctx["start_label"]),
        **({"lifelines.png": lifelines_figure(run.service, h, start_label=ctx["start_label"])}
           if _other_lifelines_dropped(run.service) else {}),
        **({"fire_timeline.png": fire_timeline_figure(run)} if has_fires(run, meta) else {}),
        "map.png": city_map_figure(run.city, run.incidents, run.events,
                                   title=f"{ctx['city_name']}: incidents, stations and outages",
                                   service=run.service),
    }
    root = Path(run_dir)
    files: list[str] = []
    figures = []
    for name, fig in figs.items():
        data = png_bytes(fig)
        atomic_write(root / "figures" / name, data)
        files.append(f"figures/{name}")
        title, caption = FIGURES[name]
        figures.append({"name": name, "title": title, "caption": caption,
                        "data_uri": "data:image/png;base64," + base64.b64encode(data).decode("ascii")})
    ctx["figures"] = figures
    md = _template_env(autoescape=False).get_template("report.md.j2").render(**ctx)
    atomic_write(root / "report.md", md.encode("utf-8"))
    html = _template_env(autoescape=True).get_template("report.html.j2").render(**ctx)
    atomic_write(root / "report.html", html.encode("utf-8"))
    files += ["report.md", "report.html"]
    return {"metrics": headline(run, horizon_s=h, standards=std, summary=meta), "files": files}
