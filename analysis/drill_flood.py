"""The rainstorm in a drill script: the storm's own milestones as one scripted hazard.

The flood process (``sim/flood_process.py``) logs the storm without an
incident: ``rain_start``, the early ``warning``, each ``flood_point`` and
``flood_clear``, the roads it closes (``road_close`` / ``road_open`` with the
note ``flood``, ``flood: light vehicles`` for roads closed to ambulances and
utility crews from 30 cm, or ``early warning: ...`` for underpasses closed to
the public beforehand), ``rain_end`` and ``flood_over``. The incidents it raises
(``vehicle_trapped``, ``people_trapped``, ``flood_pumping``) carry the source
``flood``. So that the playbook's rules match the storm like any incident,
:func:`storm_incidents` makes one incident-like record per rain hazard (id
``-k`` for the k-th row of ``hazards.csv``, type ``rainstorm``, source the
hazard id) and :func:`storm_owner` gives each of those events to it.
:class:`Storm` reads the run once for the message fields: the hyetograph in
``hazards.csv`` (total, peak intensity, wettest hour, return period, the
warning signal it reaches), flooding points and their depth, closed links and
underpasses, trapped vehicles and residents, pump-truck calls and their wait.

What the early warning did is read from the events, not from the policy's
name: underpasses closed with the note ``early warning: ...`` and pump trucks
sent to a spot before it flooded (a ``flood_pumping`` incident reported
before any ``flood_point`` at its node). The pump-truck fleet is the city's:
``scenario.waterlogging.pumps.count`` in the run's ``.hydra/config.yaml``,
placed at the stations of ``city/stations.csv`` (none without a station, as
``sim/flood_process.py`` places them); without that file, the trucks seen in
``events.csv``.

Rainstorm warning signals (暴雨预警信号, 《气象灾害预警信号发布与传播办法》,
中国气象局令第16号, 2007; [K], check the current text): blue 50 mm in 12 h,
yellow 50 mm in 6 h, orange 50 mm in 3 h, red 100 mm in 3 h. The thresholds
live in the playbook (``flood.signals``); the storm reaches a signal when its
wettest window of that length holds at least that much rain.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from analysis.drill_playbook import finite_number as _num
from analysis.rundir import Run
from sim.log import LIGHT_NOTE

if TYPE_CHECKING:
    from analysis.drill_context import Context, Group

__all__ = ["RAINSTORM", "STORM_KINDS", "Storm", "pump_fleet", "storm_incidents", "storm_owner"]

RAINSTORM = "rainstorm"
#: Kinds the flood process logs for the storm as a whole, without an incident.
STORM_KINDS = frozenset({"rain_start", "warning", "flood_point", "flood_clear", "rain_end", "flood_over"})
#: Road records of the storm: the note says the flood closed the link, or the warning did.
_ROAD_KINDS = frozenset({"road_close", "road_open"})


def _is_storm_road(note: str) -> bool:
    n = note.casefold()
    return n in ("flood", LIGHT_NOTE) or n.startswith("early warning")


def _params(text: Any) -> dict[str, Any]:
    try:
        p = json.loads(text) if isinstance(text, str) and text else {}
    except json.JSONDecodeError:
        return {}
    return p if isinstance(p, dict) else {}


def pump_fleet(run: Run) -> int | None:
    """Pump trucks the city had: the configured count where the run folder records it, else ``None``."""
    f = run.path / ".hydra" / "config.yaml"
    try:
        cfg = yaml.safe_load(f.read_text(encoding="utf-8")) if f.is_file() else None
    except (OSError, yaml.YAMLError):
        return None
    node: Any = cfg
    for part in ("scenario", "waterlogging", "pumps", "count"):
        node = node.get(part) if isinstance(node, dict) else None
    count = _num(node)
    if count is None or count < 0:
        return None
    stations = run.city.get("stations")
    return 0 if stations is not None and not len(stations) else int(count)


def storm_incidents(run: Run) -> dict[int, dict[str, Any]]:
    """One incident-like record per ``weather.rain`` hazard, keyed by ``-k`` (k-th hazard row, from 1).

    Reported at the first of its warning and its rain start: players can act
    from the warning; without one, from the first rain.
    """
    out: dict[int, dict[str, Any]] = {}
    ev = run.events
    first = {k: float(ev.loc[ev["kind"] == k, "t_s"].min()) if (ev["kind"] == k).any() else math.nan
             for k in ("warning", "rain_start")}
    report = min((t for t in first.values() if not math.isnan(t)), default=math.nan)
    for k, h in enumerate(run.hazards.to_dict("records"), 1):
        if str(h["kind"]) != "weather.rain":
            continue
        t = float(h["t_s"])
        out[-k] = {
            "incident": -k, "type": RAINSTORM, "severity": 1, "source": str(h["hazard"]), "scope": str(h["scope"]),
            "node": "", "x_m": math.nan, "y_m": math.nan, "zone": "", "t_occur_s": t,
            "t_report_s": report if not math.isnan(report) else t, "t_dispatch_s": math.nan,
            "t_enroute_s": math.nan, "t_arrival_s": math.nan, "t_control_s": math.nan, "t_close_s": math.nan,
            "first_unit": "", "n_units": math.nan, "outcome": "", "wait_s": math.nan, "t_unit_dispatch_s": math.nan,
            "t_full_alarm_s": math.nan, "full_alarm_travel_s": math.nan,
        }
    return out


def storm_owner(storms: Mapping[int, Mapping[str, Any]], kind: str, note: str, t: float) -> int | None:
    """The storm record an event without an incident belongs to (the last rain begun by ``t``, else the first)."""
    if not storms or not (kind in STORM_KINDS or (kind in _ROAD_KINDS and _is_storm_road(note))):
        return None
    started = [i for i, r in storms.items() if float(r["t_occur_s"]) <= t]
    return max(started, key=lambda i: float(storms[i]["t_occur_s"])) if started else max(storms)


class Storm:
    """The storm of one run, read once: what the scenario text and the flood messages quote."""

    def __init__(self, ctx: Context, run: Run) -> None:
        self.ctx = ctx
        rain = run.hazards[run.hazards["kind"] == "weather.rain"]
        p = _params(rain["params"].iloc[0]) if len(rain) else {}
        self.mm = np.asarray(p.get("mm") or [], dtype=float)
        self.step_s = float(p.get("step_s") or 300.0)
        self.t0 = float(rain["t_s"].iloc[0]) if len(rain) else 0.0
        self.return_period = _num(p.get("return_period_yr"))
        ev = run.events
        rows = ev[[_num(x) is None for x in ev["incident"]]]
        self.kinds: dict[str, list[tuple[float, str, float | None, str]]] = {}
        for t, kind, scope, value, note in zip(rows["t_s"], rows["kind"], rows["scope"], rows["value"],
                                               rows["note"], strict=True):
            note = note if isinstance(note, str) else ""
            if kind in STORM_KINDS or kind == "ponding" or (kind in _ROAD_KINDS and _is_storm_road(note)):
                self.kinds.setdefault(str(kind), []).append((float(t), str(scope), _num(value), note))
        links = run.city.get("links")
        self.underpass = ({int(k) for k, u in zip(links["link"], links["underpass"], strict=True) if _num(u)}
                          if links is not None and "underpass" in links else set())
        self.link_nodes = ({int(k): (int(u), int(v)) for k, u, v in zip(links["link"], links["u"], links["v"],
                                                                         strict=True)}
                           if links is not None else {})
        nodes, zones = run.city.get("nodes"), run.city.get("zones")
        self.node_xy = ({int(n): (float(x), float(y)) for n, x, y in zip(nodes["node"], nodes["x_m"], nodes["y_m"],
                                                                        strict=True)}
                        if nodes is not None else {})
        self.zone_xy = ([(str(z), float(x), float(y)) for z, x, y in zip(zones["zone"], zones["x_m"], zones["y_m"],
                                                                          strict=True)]
                        if zones is not None and "x_m" in zones else [])
        incs = ctx.incidents.values()
        self.trapped = [r for r in incs if str(r["type"]) == "vehicle_trapped"]
        self.people = [r for r in incs if str(r["type"]) == "people_trapped"]
        self.pumping = [r for r in incs if str(r["type"]) == "flood_pumping"]
        self.pump_units = sorted({str(s) for s in ev["scope"] if str(s).startswith("units.pump_truck.")})
        fleet = pump_fleet(run)
        self.n_pump_trucks = max(fleet, len(self.pump_units)) if fleet is not None else len(self.pump_units)
        # pump trucks sent at the warning: to a spot before it flooded
        flooded: dict[str, float] = {}
        for t, scope, _, _ in self.kinds.get("flood_point", []):
            flooded.setdefault(scope, t)
        self.prepositioned = ([r for r in self.pumping
                               if float(r["t_report_s"]) < flooded.get(str(r["scope"]), math.inf)]
                              if self.first("warning") else [])

    # -- places
    def node_zone(self, node: int) -> str:
        """The zone whose centre is nearest the node (as the engine's ``zone_of``)."""
        xy = self.node_xy.get(node)
        if xy is None or not self.zone_xy:
            return ""
        d = [(x - xy[0]) ** 2 + (y - xy[1]) ** 2 for _, x, y in self.zone_xy]
        return self.zone_xy[int(np.argmin(d))][0]

    def point(self, scope: str) -> str:
        """A flooding point (``roads.node.N``) as a place the players can find."""
        node = scope.rsplit(".", 1)[-1]
        zone = self.node_zone(int(node)) if node.isdigit() else ""
        return self.ctx.pb.phrase("place", zone=self.ctx.zone(zone) if zone else self.ctx.pb.phrase("unknown"),
                                  node=node)

    def link(self, link: int) -> str:
        """A closed link: an underpass by its zone, another road by its class."""
        pb = self.ctx.pb
        if link in self.underpass:
            u, v = self.link_nodes.get(link, (-1, -1))
            zone = self.node_zone(u) or self.node_zone(v)
            return pb.phrase("underpass", zone=self.ctx.zone(zone) if zone else pb.phrase("unknown"), link=link)
        return self.ctx.road(link)

    # -- the hyetograph
    def wettest(self, seconds: float) -> float:
        """Most rain in any window of ``seconds`` (mm)."""
        if not len(self.mm):
            return 0.0
        n = max(1, min(len(self.mm), int(round(seconds / self.step_s))))
        return float(np.convolve(self.mm, np.ones(n), mode="valid").max())

    def signal(self) -> str | None:
        """The highest rainstorm warning signal the storm reaches (playbook ``flood.signals``, highest first)."""
        for s in self.ctx.pb.data["flood"]["signals"]:
            if self.wettest(float(s["hours"]) * 3600.0) >= float(s["mm"]):
                return str(s["key"])
        return None

    @cached_property
    def two_classes(self) -> bool:
        """Did the flood close roads to light vehicles apart from the others (two classes of vehicle)?"""
        return any(r[3] == LIGHT_NOTE for k in _ROAD_KINDS for r in self.kinds.get(k, []))

    @property
    def flooded(self) -> bool:
        """Did any flooding point form?"""
        return bool(self.kinds.get("flood_point"))

    @property
    def dry(self) -> bool:
        """Rain that left nothing to tell: no flooding point, no link closed by water, nobody trapped."""
        return not (self.flooded or any(r[3] == "flood" for r in self.kinds.get("road_close", []))
                    or self.trapped or self.people)

    def first(self, kind: str) -> tuple[float, str, float | None, str] | None:
        rows = self.kinds.get(kind)
        return rows[0] if rows else None

    def points_at(self, t: float) -> int:
        """Flooding points standing at ``t`` (started by then, not yet cleared)."""
        on = sum(1 for r in self.kinds.get("flood_point", []) if r[0] <= t)
        return on - sum(1 for r in self.kinds.get("flood_clear", []) if r[0] <= t)

    def closed_at(self, t: float, note: str = "flood") -> int:
        """Links closed by the flood at ``t`` (``note``: to every unit; ``LIGHT_NOTE``: to ambulances and crews)."""
        shut = sum(1 for r in self.kinds.get("road_close", []) if r[0] <= t and r[3] == note)
        return shut - sum(1 for r in self.kinds.get("road_open", []) if r[0] <= t and r[3] == note)

    # -- the fields of a message (analysis.drill_playbook.FIELDS)
    def fields(self, inc: Mapping[str, Any], group: Group) -> dict[str, str]:
        ctx, pb = self.ctx, self.ctx.pb
        unknown = pb.phrase("unknown")
        start, warn = self.first("rain_start"), self.first("warning")
        end, over = self.first("rain_end"), self.first("flood_over")
        peak_i = int(np.argmax(self.mm)) if len(self.mm) else None
        peak_t = self.t0 + peak_i * self.step_s if peak_i is not None else None
        signal = self.signal()
        points = self.kinds.get("flood_point", [])
        depths = [v for _, _, v, _ in points + self.kinds.get("ponding", []) if v is not None]
        closes = [r for r in self.kinds.get("road_close", []) if r[3] == "flood"]
        closed_links = sorted({int(s.rsplit(".", 1)[-1]) for _, s, _, _ in closes})
        pre = [r for r in self.kinds.get("road_close", []) if r[3].casefold().startswith("early warning")]
        trapped_links = {str(r["scope"]) for r in self.trapped}
        here = [r for r in self.trapped if str(r["scope"]) == str(inc["scope"])]
        waits = [w for r in self.pumping if (w := _num(r.get("wait_s"))) is not None]
        g_links = [int(s.rsplit(".", 1)[-1]) for s in group.scopes if s.startswith("roads.link.")]
        g_under = [k for k in g_links if k in self.underpass]
        # underpasses first: they are what the players must close
        g_links = g_under + [k for k in g_links if k not in self.underpass]
        g_points = [s for s in group.scopes if s.startswith("roads.node.")] if group.kind == "flood_point" else []
        g_depths = [v for v in group.values if v is not None]
        values = dict(zip(group.scopes, group.values or [None] * len(group.scopes), strict=True))
        deepest = max(g_points, key=lambda sc: values.get(sc) or 0.0) if g_points else None
        under_depths = [v for k in g_under if (v := values.get(f"roads.link.{k}")) is not None]
        link = (int(str(inc["scope"]).rsplit(".", 1)[-1]) if str(inc["scope"]).startswith("roads.link.")
                else g_under[0] if g_under else None)
        n_trapped = len(self.trapped)
        n_pre, n_sent = len({s for _, s, _, _ in pre}), len(self.prepositioned)
        warned = ("warned_both" if n_pre and n_sent else "warned_underpasses" if n_pre
                  else "warned_pumps" if n_sent else "warned_idle")
        fleet = self.n_pump_trucks
        pump_text = (pb.phrase("pump_work", n=fleet, calls=len(self.pumping),
                               wait=pb.duration(max(waits)) if waits else pb.duration(0.0)) if self.pumping
                     else pb.phrase("pump_idle", n=fleet) if fleet else pb.phrase("pump_none"))
        return {
            "rain_total": f"{float(self.mm.sum()):.0f}" if len(self.mm) else unknown,
            "rain_duration": pb.duration(len(self.mm) * self.step_s) if len(self.mm) else unknown,
            "rain_start_clock": ctx.clock(start[0]) if start else unknown,
            "rain_end_clock": ctx.clock(end[0]) if end else unknown,
            "peak_mm_h": f"{float(self.mm.max()) * 3600.0 / self.step_s:.0f}" if len(self.mm) else unknown,
            "peak_clock": ctx.clock(peak_t) if peak_t is not None else unknown,
            "peak_step": pb.duration(self.step_s),
            "wettest_hour": f"{self.wettest(3600.0):.0f}",
            "return_period": (pb.phrase("return_period", n=f"{self.return_period:g}")
                              if self.return_period else pb.phrase("return_period_unknown")),
            "return_period_plain": (pb.phrase("return_period_plain", n=f"{self.return_period:g}")
                                    if self.return_period else pb.phrase("return_period_unknown")),
            "signal": pb.phrase(f"signal_{signal}") if signal else pb.phrase("signal_none"),
            "signal_reached": pb.phrase("signal_reached", signal=pb.phrase(f"signal_{signal}")) if signal else "",
            "warning_clock": ctx.clock(warn[0]) if warn else unknown,
            "warning_lead": pb.duration(peak_t - warn[0]) if warn and peak_t is not None else unknown,
            "n_points": str(len(points)),
            "first_point_clock": ctx.clock(points[0][0]) if points else unknown,
            "max_depth": pb.phrase("depth", m=f"{max(depths):.2f}") if depths else unknown,
            "points": (_short(pb, [self.point(s) for s in g_points], 3) if g_points
                       else self.point(str(inc["scope"])) if str(inc["scope"]).startswith("roads.node.") else unknown),
            "n_points_here": str(len(g_points)),
            "point": (self.point(deepest) if deepest else self.point(str(inc["scope"]))
                      if str(inc["scope"]).startswith("roads.node.") else unknown),
            "point_depth": pb.phrase("depth", m=f"{values[deepest]:.2f}") if deepest and values.get(deepest)
            else unknown,
            "depth": pb.phrase("depth", m=f"{max(g_depths):.2f}") if g_depths else unknown,
            "points_now": str(self.points_at(group.t_s)),
            "closed_now": str(self.closed_at(group.t_s)),
            # one class of vehicle: the roads closed to all are the ones closed to ambulances
            "closed_light_now": str(self.closed_at(group.t_s, LIGHT_NOTE if self.two_classes else "flood")),
            "n_closed": str(len(closed_links)),
            "n_closed_underpasses": str(sum(1 for k in closed_links if k in self.underpass)),
            "n_preclosed": str(n_pre),
            "n_prepositioned": str(n_sent),
            "warning_actions": pb.phrase(warned, n=n_pre, k=n_sent),
            "links": _short(pb, [self.link(k) for k in g_links], 3) if g_links else unknown,
            "n_links": str(len(g_links)),
            "underpasses": _short(pb, [self.link(k) for k in g_under], 3) if g_under else unknown,
            "n_underpasses": str(len(g_under)),
            # several underpasses: the range of their depths, not the deepest one's for all
            "underpass_depth": (unknown if not under_depths
                                else pb.phrase("depth", m=f"{under_depths[0]:.2f}")
                                if f"{min(under_depths):.2f}" == f"{max(under_depths):.2f}"
                                else pb.phrase("depth_range", lo=f"{min(under_depths):.2f}",
                                               hi=f"{max(under_depths):.2f}")),
            "underpass": self.link(link) if link is not None else unknown,
            "trapped_here": str(len(here)),
            "trapped_total": str(n_trapped),
            "trapped_text": (pb.phrase("trapped_text", n=n_trapped, k=len(trapped_links)) if n_trapped
                             else pb.phrase("trapped_none")),
            "people_total": str(len(self.people)),
            "pump_calls": str(len(self.pumping)),
            "n_pump_trucks": str(fleet),
            "pump_text": pump_text,
            "pump_wait_max": pb.duration(max(waits)) if waits else pb.duration(0.0),
            "flood_over_clock": ctx.clock(over[0]) if over else unknown,
            "flood_over_text": pb.phrase("flood_over_at", clock=ctx.clock(over[0])) if over
            else pb.phrase("flood_not_over"),
            "flood_duration": pb.duration(over[0] - start[0]) if over and start else unknown,
        }


def _short(pb: Any, items: list[str], keep: int) -> str:
    """At most ``keep`` names, then how many in all."""
    if len(items) <= keep:
        return str(pb.join(items))
    return str(pb.phrase("and_more", items=pb.join(items[:keep]), n=len(items), more=len(items) - keep))
