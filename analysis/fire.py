"""High-rise e-bike fires from a run folder: one row per fire, headline figures, a timeline.

Reads only ``events.csv`` and ``incidents.csv`` (the kinds ``ignite``,
``detect``, ``second_alarm``, ``first_water``, ``untenable``, ``exposed`` and
``casualties``; see the README's events table). Pure functions of the
tables; :func:`fire_timeline_figure` draws, nothing here writes.

Definitions (per fire, seconds after ignition ``t_ignite``):

* time to first water ``= t(first_water) - t_ignite``; also from the call,
  ``t(first_water) - t_report``.
* people exposed and expected casualties: the values of the ``exposed`` and
  ``casualties`` events, expectations of the coarse model in ``sim/fire.py``.
* floors untenable: the number of ``untenable`` events of the fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.rundir import Run

__all__ = ["CASES", "FIRE_COLUMNS", "case_rows", "fire_headline", "fire_table", "fire_timeline_figure", "has_fires"]

FIRE_COLUMNS = (
    "incident", "building", "location", "origin_floor", "route", "t_ignite_s", "t_detect_s", "detected_by",
    "t_report_s", "t_dispatch_s", "t_arrival_s", "t_first_water_s", "first_water_by", "water_via",
    "first_water_after_ignition_s", "first_water_after_report_s", "second_alarm", "floors_untenable",
    "exposed", "casualties",
)


def has_fires(run: Run, summary: Mapping[str, Any] | None = None) -> bool:
    """A run to report fires for: it has an ignition, or its scenario is an e-bike fire scenario.

    ``summary`` (the run's summary so far) is read before ``summary.json``,
    so a run of an e-bike scenario whose fires were all prevented still
    reports ``fire_n = 0``.
    """
    meta = {**run.summary, **(summary or {})}
    scenario = str(meta.get("scenario", ""))
    return bool(len(_ignitions(run.events))) or scenario.startswith("ebike_fire")


def _ignitions(ev: pd.DataFrame) -> pd.DataFrame:
    """The high-rise fire ignitions (leaking gas that ignites logs ``ignite`` at the leak, not here)."""
    return ev[(ev["kind"] == "ignite") & ev["scope"].astype(str).str.startswith("buildings.highrise.")]


def _note_field(note: str, key: str) -> str:
    for part in str(note).split(";"):
        k, _, v = part.strip().partition("=")
        if k == key:
            return v
    return ""


def fire_table(run: Run) -> pd.DataFrame:
    """One row per high-rise fire (columns :data:`FIRE_COLUMNS`), in incident order."""
    ev = run.events
    ev = ev[ev["incident"].notna()]
    rows: list[dict[str, Any]] = []
    inc = run.incidents.set_index("incident")
    for _, ig in _ignitions(ev).iterrows():
        i = int(ig["incident"])
        mine = ev[ev["incident"] == i]

        def first(kind: str, mine: pd.DataFrame = mine) -> pd.Series | None:
            sel = mine[mine["kind"] == kind]
            return None if sel.empty else sel.iloc[0]

        det, fw = first("detect"), first("first_water")
        exp, cas = first("exposed"), first("casualties")
        r = inc.loc[i] if i in inc.index else None
        t0 = float(ig["t_s"])
        t_rep = None if r is None or pd.isna(r["t_report_s"]) else float(r["t_report_s"])
        t_fw = None if fw is None else float(fw["t_s"])
        rows.append({
            "incident": i,
            "building": str(ig["scope"]).rsplit(".", 1)[-1],
            "location": _note_field(ig["note"], "location"),
            "origin_floor": int(ig["value"]),
            "route": _note_field(ig["note"], "route"),
            "t_ignite_s": t0,
            "t_detect_s": None if det is None else float(det["t_s"]),
            "detected_by": "" if det is None else str(det["note"]),
            "t_report_s": t_rep,
            "t_dispatch_s": None if r is None or pd.isna(r["t_dispatch_s"]) else float(r["t_dispatch_s"]),
            "t_arrival_s": None if r is None or pd.isna(r["t_arrival_s"]) else float(r["t_arrival_s"]),
            "t_first_water_s": t_fw,
            "first_water_by": "" if fw is None else str(fw["scope"]),
            "water_via": "" if fw is None else str(fw["note"]),
            "first_water_after_ignition_s": None if t_fw is None else t_fw - t0,
            "first_water_after_report_s": None if t_fw is None or t_rep is None else t_fw - t_rep,
            "second_alarm": bool((mine["kind"] == "second_alarm").any()),
            "floors_untenable": int((mine["kind"] == "untenable").sum()),
            "exposed": None if exp is None else float(exp["value"]),
            "casualties": None if cas is None else float(cas["value"]),
        })
    return pd.DataFrame(rows, columns=list(FIRE_COLUMNS))


def _mean(s: pd.Series) -> float | None:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return float(v.mean()) if len(v) else None


def fire_headline(run: Run, summary: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Flat fire metrics (prefix ``fire_``); empty when the run has no fires to report."""
    if not has_fires(run, summary):
        return {}
    t = fire_table(run)
    water = pd.to_numeric(t["first_water_after_ignition_s"], errors="coerce").dropna()
    return {
        "fire_n": int(len(t)),
        "fire_first_water_mean_s": _mean(t["first_water_after_ignition_s"]),
        "fire_first_water_max_s": float(water.max()) if len(water) else None,
        "fire_first_water_after_report_mean_s": _mean(t["first_water_after_report_s"]),
        "fire_n_no_water": int(len(t) - len(water)),
        "fire_floors_untenable_total": int(t["floors_untenable"].sum()) if len(t) else 0,
        "fire_exposed_total": float(pd.to_numeric(t["exposed"]).fillna(0).sum()) if len(t) else 0.0,
        "fire_casualties_total": float(pd.to_numeric(t["casualties"]).fillna(0).sum()) if len(t) else 0.0,
        "fire_casualties_per_fire": _mean(t["casualties"]),
    }


def fire_timeline_figure(run: Run) -> Figure:
    """Per fire, minutes after ignition: detection, call, dispatch, arrival, first water, floors untenable."""
    t = fire_table(run)
    ev = run.events
    n = max(len(t), 1)
    fig = Figure(figsize=(8, 1.6 + 0.9 * n))
    ax = fig.add_subplot()
    marks = [("t_detect_s", "detect", "o"), ("t_report_s", "call", "s"), ("t_dispatch_s", "dispatch", "^"),
             ("t_arrival_s", "arrival", "v"), ("t_first_water_s", "first water", "D")]
    for y, (_, row) in enumerate(t.iterrows()):
        t0 = row["t_ignite_s"]
        unt = ev[(ev["kind"] == "untenable") & (ev["incident"] == row["incident"])]
        if len(unt):
            m = (unt["t_s"].to_numpy() - t0) / 60.0
            ax.scatter(m, np.full(len(m), y), c=unt["value"].to_numpy(), cmap="Reds",
                       vmin=-0.4 * float(unt["value"].max()), vmax=float(unt["value"].max()), marker="|", s=300,
                       label="untenable floor (darker = higher)" if y == 0 else None)
        for col, label, marker in marks:
            if row[col] is not None and not pd.isna(row[col]):
                ax.scatter([(row[col] - t0) / 60.0], [y], marker=marker, s=50, zorder=3, label=label if y == 0 else None)
    ax.set_yticks(range(len(t)), [f"#{r.incident} {r.building} {r.location}" for r in t.itertuples()])
    ax.set_ylim(-0.8, n - 0.2)
    ax.set_xlabel("minutes after ignition")
    ax.axvline(0, color="k", lw=0.8)
    if len(t):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if n < 3 else -0.12), ncol=3, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no fire in this run", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    return fig


#: Published facts of replayed cases (DOMAIN.md 4.1, with its sources): key -> rows (item, published).
CASES: dict[str, dict[str, Any]] = {
    "nanjing_0223": {
        "title": "Nanjing Yuhuatai 2·23 fire (明尚西苑 Building 6, 2024-02-23)",
        "source": "新华社 via 京江晚报; investigation report of the 江苏省人民政府 (2024); DOMAIN.md 4.1",
        "published": {
            "ignition": "ground-floor 架空层, modified over-spec battery; start reported as 04:35",
            "call": "alarm received 04:39",
            "alarms": "automatic smoke-alarm system did not activate",
            "spread": "smoke up a light/vent shaft (stack effect); marks on floors 21-34 of 34",
            "response": "8 stations, 25 engines, 130 firefighters",
            "fire out": "open flame out about 06:00; search ended about 14:00",
            "casualties": "15 dead, 44 hospitalised; 607 evacuated",
        },
        # Not an independent check: policy.fire.shaft_affected_share (0.4) was set from this
        # case's burn marks, and the call time is imposed; the casualties are the model's own.
        "caveat": "a stand-in building in the generated district; shaft spread set from this case",
    },
}


def _clock(run_start: str | None, t_s: float | None) -> str:
    if t_s is None or pd.isna(t_s):
        return "never"
    if not run_start:
        return f"t = {t_s:.0f} s"
    return (datetime.fromisoformat(run_start) + timedelta(seconds=float(t_s))).strftime("%H:%M:%S")


def case_rows(run: Run, run_start: str | None) -> list[tuple[str, str, str, str]]:
    """For each replayed fire (``case`` in its hazard params): (case title, item, model, published)."""
    import json

    t = fire_table(run)
    out: list[tuple[str, str, str, str]] = []
    cases = {}
    for _, h in run.hazards.iterrows():
        params = json.loads(h["params"]) if isinstance(h["params"], str) and h["params"] else {}
        if params.get("case") in CASES:
            cases[str(h["scope"]).rsplit(".", 1)[-1]] = params["case"]
    ev = run.events
    for r in t.itertuples():
        key = cases.get(r.building)
        if key is None:
            continue
        c = CASES[key]
        pub = c["published"]
        n_units = int(((ev["kind"] == "arrive") & (ev["incident"] == r.incident)).sum())
        model = {
            "ignition": f"{r.location} at {_clock(run_start, r.t_ignite_s)}",
            "call": f"call reaches dispatch {_clock(run_start, r.t_report_s)}",
            "alarms": r.detected_by,
            "spread": f"route {r.route}; {r.floors_untenable} floors untenable",
            "response": f"{n_units} units on scene; first water {_clock(run_start, r.t_first_water_s)}",
            "fire out": "not modelled (on-scene time is a lognormal draw)",
            "casualties": f"{r.casualties or 0:.1f} expected casualties; {r.exposed or 0:.0f} exposed",
        }
        for item, value in model.items():
            out.append((c["title"], item, value, pub[item]))
        out.append((c["title"], "caveat", c["caveat"], c["source"]))
    return out
