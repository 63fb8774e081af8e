"""What a drill script reads from a run folder, and how it names it in the playbook's language.

The run-folder half of :mod:`analysis.drill_select`, language-aware only
through :class:`analysis.drill_playbook.Playbook`. :class:`Context` reads a
loaded :class:`analysis.rundir.Run` once: the incidents (with one record per
rainstorm, :mod:`analysis.drill_flood`) and their response components, the
events of ``events.csv`` as :class:`Group` records (one per incident, kind
and time; lifeline records also split by component class), zone, pipe and
road names, the water service curve and the customers each burst main cut
off. It then answers the drill's questions about the run: scenario clock
times, places, units and components in words, every field a message template
may use (:data:`analysis.drill_playbook.FIELDS`), and the observed times and
targets of the playbook's objectives.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from analysis.drill_flood import Storm, storm_incidents, storm_owner
from analysis.drill_playbook import UNIT_METRICS, Playbook, fmt_clock
from analysis.drill_playbook import finite_number as _num
from analysis.metrics import fractile, response_components
from analysis.rundir import Run, run_horizon
from sim.log import LIGHT_NOTE

__all__ = ["Context", "Group"]


@dataclass(frozen=True)
class Group:
    """The events of one kind for one incident at one time (e.g. all units of a run card)."""

    index: int
    t_s: float
    kind: str
    scope: str
    incident: int
    value: float | None
    note: str
    scopes: tuple[str, ...]
    indices: tuple[int, ...]
    total: float | None = None  # sum of the values of the group's events (e.g. elevators with people trapped)
    notes: tuple[str, ...] = ()
    values: tuple[float | None, ...] = ()


def _present(v: Any) -> bool:
    return isinstance(v, str) and v != ""


def _ids(scopes: Sequence[str]) -> list[str]:
    return [s.rsplit(".", 1)[-1] for s in scopes]


#: Kinds whose same-time records are split by component class (``elevators``,
#: ``water.booster``, ...): a substation trip logs dozens of them at once, and a
#: trainer wants one inject per class of consequence, not one per high-rise.
SPLIT_KINDS = frozenset({"lifeline_down", "lifeline_up"})


def component_class(scope: str) -> str:
    """``power.feeder.FZ03`` -> ``power.feeder``; ``elevators.HR0042`` -> ``elevators``."""
    return scope.rsplit(".", 1)[0] if "." in scope else scope


def _note_value(note: str, key: str) -> str:
    """``radius=100 m`` / ``location=corridor; route=stair`` -> the value of ``key`` ('' if absent)."""
    for part in note.replace(";", ",").split(","):
        k, sep, v = part.strip().partition("=")
        if sep and k.strip() == key:
            return v.strip()
    return ""


class Context:
    """Lookups over one run folder, speaking the playbook's language."""

    def __init__(self, run: Run, pb: Playbook) -> None:
        self.run, self.pb = run, pb
        s = run.summary
        if not s:
            raise FileNotFoundError(f"{run.path / 'summary.json'}: missing; a run folder has one")
        if s.get("status", "ok") != "ok":
            raise ValueError(f"{run.path / 'summary.json'}: the run did not finish ({s.get('error', s.get('status'))})")
        try:
            self.start = datetime.fromisoformat(str(s["run_start"])).replace(tzinfo=None)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{run.path / 'summary.json'}: no valid 'run_start' ({exc})") from exc
        self.horizon = run_horizon(run)
        self.standards: dict[str, Any] = dict(s.get("standards") or {})
        tokens = str(s.get("policy", "")).replace(",", "+").split("+")
        det = pb.data["detection"]
        self.detection = next((det["policies"][t] for t in tokens if t in (det.get("policies") or {})),
                              det["default"])
        self.incidents = {int(r["incident"]): r for r in run.incidents.to_dict("records")}
        # a rainstorm logs its milestones without an incident: one record stands for each (analysis.drill_flood)
        self.storms = storm_incidents(run)
        self.incidents.update(self.storms)
        comps = response_components(run.incidents)
        self.components = {int(r["incident"]): r for r in comps.to_dict("records")}
        self.groups = self._groups()
        zones = run.city.get("zones")
        self.zones = dict(zip(zones["zone"], zones["name"], strict=True)) if zones is not None else {}
        pipes = run.city.get("pipes")
        self.pipes = {r["pipe"]: r for r in pipes.to_dict("records")} if pipes is not None else {}
        for params in run.hazards["params"]:
            self._pipe_from_hazard(params)
        links = run.city.get("links")
        self.links = dict(zip(links["link"].astype(int), links["road_class"], strict=True)) if links is not None else {}
        water = run.service[run.service["lifeline"] == "water"].sort_values("t_s", kind="stable")
        self.service_t = water["t_s"].to_numpy(float)
        self.service_out = water["customers_out"].to_numpy(float)
        self.outages = self._outages(water["cause"].tolist())
        # where a high-rise stands: its entrapment or fire incidents name it and their zone
        self.building_zone: dict[str, str] = {}
        for r in self.incidents.values():
            parts = str(r["scope"]).split(".")
            if parts[0] == "elevators" and len(parts) > 1:
                self.building_zone.setdefault(parts[1], str(r["zone"]))
            elif parts[:2] == ["buildings", "highrise"] and len(parts) > 2:
                self.building_zone.setdefault(parts[2], str(r["zone"]))
        self.storm = Storm(self, run) if self.storms else None

    def _outages(self, causes: list[str]) -> dict[str, float] | None:
        """Customers each burst main cut off: the rises in service.csv whose cause names it.

        The ``isolate`` event's value counts every customer out in the city at
        that moment, so a second burst inside an earlier outage would be
        credited with the first one's customers; the causes ("water.pipe.P7
        burst", "... isolated") attribute each change. ``None`` when no cause
        names a main (then the isolate value is used).
        """
        out: dict[str, float] = {}
        prev = 0.0
        for cause, now in zip(causes, self.service_out, strict=True):
            scope, _, what = str(cause).rpartition(" ")
            if scope.startswith("water.pipe.") and what in ("burst", "isolated"):
                out[scope] = out.get(scope, 0.0) + max(0.0, float(now) - prev)
            prev = float(now)
        return out if out else None

    def _pipe_from_hazard(self, params: str) -> None:
        try:
            p = json.loads(params) if params else {}
        except json.JSONDecodeError:
            return
        if isinstance(p, dict) and p.get("pipe") and p["pipe"] not in self.pipes:
            self.pipes[p["pipe"]] = {"pipe": p["pipe"], "diameter_mm": p.get("diameter_mm"),
                                     "material": p.get("material", ""), "install_year": p.get("install_year")}

    def _groups(self) -> dict[tuple[int, str], list[Group]]:
        """Events by (incident, kind), split by time, in time order; rows keep their place in events.csv."""
        ev = self.run.events
        cols = {c: ev[c].tolist() for c in ("kind", "scope", "incident", "value", "note")}
        owner: list[int | None] = []
        for t, inc, kind, note in zip(ev["t_s"], cols["incident"], cols["kind"], cols["note"], strict=True):
            n = _num(inc)
            owner.append(int(n) if n is not None else storm_owner(self.storms, str(kind),
                                                                   note if _present(note) else "", float(t)))
        rows = sorted((float(t), i) for i, t in enumerate(ev["t_s"]) if owner[i] is not None)
        bucket: dict[tuple[int, str, float, str], list[int]] = {}
        for t, i in rows:
            kind = str(cols["kind"][i])
            if kind in SPLIT_KINDS:
                cls = component_class(str(cols["scope"][i]))
            elif kind in ("road_close", "road_open"):  # a road shut to ambulances only is told apart
                cls = "light" if str(cols["note"][i]) == LIGHT_NOTE else ""
            else:
                cls = ""
            bucket.setdefault((int(owner[i] or 0), kind, t, cls), []).append(i)
        out: dict[tuple[int, str], list[Group]] = {}
        for (inc, kind, t, _), idx in bucket.items():
            first = idx[0]
            vals = [v for v in (_num(cols["value"][i]) for i in idx) if v is not None]
            out.setdefault((inc, kind), []).append(Group(
                index=first, t_s=t, kind=kind, scope=str(cols["scope"][first]), incident=inc,
                value=_num(cols["value"][first]), note=str(cols["note"][first] if _present(cols["note"][first])
                                                           else ""),
                scopes=tuple(str(cols["scope"][i]) for i in idx), indices=tuple(idx),
                total=sum(vals) if vals else None,
                notes=tuple(str(cols["note"][i]) if _present(cols["note"][i]) else "" for i in idx),
                values=tuple(_num(cols["value"][i]) for i in idx),
            ))
        return out

    # -- lookups
    def first(self, incident: int, kind: str) -> Group | None:
        gs = self.groups.get((incident, kind))
        return gs[0] if gs else None

    def detection_of(self, incident: int) -> str:
        """What raised the alarm for ``incident``: the note of its ``report`` event (customer_calls,
        pressure_monitoring, gas_monitoring), or the run's policy default for logs without one."""
        rep = self.first(incident, "report")
        known = set(self.pb.data["detection"].get("channels") or ())
        if rep is not None and rep.note in known:
            return rep.note
        return self.detection

    def clock(self, t: float | None) -> str:
        """Scenario clock time for messages; qualified by the date when it falls on a later day."""
        if t is None:
            return self.pb.phrase("unknown")
        at = self.scenario(t)
        days = (at.date() - self.start.date()).days
        if days == 0:
            return fmt_clock(at)
        if days == 1:
            return self.pb.phrase("next_day", clock=fmt_clock(at))
        return self.pb.phrase("on_date", month=at.month, day=at.day, date=f"{at:%Y-%m-%d}", clock=fmt_clock(at))

    def scenario(self, t: float) -> datetime:
        return self.start + timedelta(seconds=float(t))

    def customers(self, incident: int) -> float:
        """Customers the incident left without water (0 for incidents that are not a burst main)."""
        g = self.first(incident, "isolate")
        if self.outages is not None:
            return self.outages.get(str(self.incidents[incident]["scope"]), 0.0)
        return (g.value or 0.0) if g else 0.0

    def customers_now(self, t: float) -> int:
        """Water customers out at ``t`` (service.csv holds the state after each change)."""
        i = int(np.searchsorted(self.service_t, t, side="right")) - 1
        return int(self.service_out[i]) if i >= 0 else 0

    def unit(self, scope: str) -> str:
        parts = scope.split(".")
        if len(parts) == 2 and parts[0] == "units":  # a team without a depot, e.g. units.street_team
            return self.pb.name("unit_kinds", parts[1])
        if len(parts) < 4 or parts[0] != "units":
            return scope
        return self.pb.phrase("unit", kind=self.pb.name("unit_kinds", parts[1]), unit_id=".".join(parts[2:]))

    def all_classes(self, group: Group) -> bool:
        """Does a flood road event hold for every vehicle? The closure or reopening to light vehicles
        (30 cm) does; one to all units (60 cm) does only in a run with a single class of vehicle."""
        note = group.note.casefold()
        if note == "flood":
            return self.storm is None or not self.storm.two_classes
        return True

    def underpass(self, group: Group) -> bool:
        """Does the group close, open or trap in an underpass (``roads.link.N`` with ``underpass`` set)?"""
        if self.storm is None:
            return False
        scopes = [*group.scopes, str(self.incidents[group.incident]["scope"])]
        return any(s.startswith("roads.link.") and int(s.rsplit(".", 1)[-1]) in self.storm.underpass for s in scopes)

    def zone(self, zone: str) -> str:
        return self.pb.place(str(self.zones.get(zone, zone)))

    def road(self, link: int | None) -> str:
        if link is None or link not in self.links:
            return self.pb.phrase("road_unknown")
        return self.pb.phrase("road", road_class=self.pb.name("road_classes", int(self.links[link])), link=link)

    def pipe(self, pipe_id: str) -> str:
        p = self.pipes.get(pipe_id)
        d, y = (_num(p.get("diameter_mm")), _num(p.get("install_year"))) if p else (None, None)
        if p is None or d is None or y is None:
            return self.pb.phrase("pipe_unknown", pipe_id=pipe_id)
        return self.pb.phrase("pipe", diameter=int(d), material=self.pb.name("materials", p.get("material", "")),
                              pipe_id=pipe_id, year=int(y))

    def pipe_link(self, pipe_id: str) -> int | None:
        p = self.pipes.get(pipe_id)
        return int(p["road_link"]) if p and _num(p.get("road_link")) is not None else None

    def component(self, scope: str) -> str:
        """A lifeline component, gas main, valve or building in words (playbook ``components``)."""
        cls, _, cid = scope.rpartition(".")
        table = self.pb.data["components"]
        if cls in table:
            return self.pb.text(table[cls], id=cid)
        if cls == "roads.node":
            return self.pb.phrase("place", zone=self.zone(self._node_zone(cid)), node=cid)
        parts = scope.split(".")
        if parts[:2] == ["buildings", "highrise"] and len(parts) >= 3:
            return self.pb.text(table["buildings.highrise"], id=parts[2])
        return scope

    def _node_zone(self, node: str) -> str:
        return next((str(r["zone"]) for r in self.incidents.values() if _fmt_int(r.get("node")) == node), "")

    def zone_of(self, scope: str, note: str = "") -> str | None:
        """The zone a component serves: ``roads.signals.Z03``, ``power.feeder.FZ03`` (F + zone), a high-rise
        (by its incidents, else by the feeder it lost: note ``cause=power.feeder.FZ03``)."""
        cls, _, cid = scope.rpartition(".")
        cause = _note_value(note, "cause")
        if cls in ("elevators", "water.booster", "water.pump", "hospital") and cid not in self.building_zone \
                and cause.startswith("power.feeder."):
            return self.zone_of(cause)
        if cls == "roads.signals" and cid in self.zones:
            return cid
        if cls == "power.feeder" and cid[1:] in self.zones:
            return cid[1:]
        if cls in ("elevators", "water.booster"):
            return self.building_zone.get(cid)
        return None

    def lifeline_totals(self, incident: int) -> dict[str, tuple[float, tuple[tuple[str, str], ...]]]:
        """Per component class, what the incident's first outage of that class affects, and (scope, note) pairs."""
        out: dict[str, tuple[float, tuple[tuple[str, str], ...]]] = {}
        for g in self.groups.get((incident, "lifeline_down"), []):
            cls = component_class(g.scope)
            if cls not in out:
                out[cls] = (g.total or 0.0, tuple(zip(g.scopes, g.notes or [""] * len(g.scopes), strict=True)))
        return out

    # -- the fields a template may use (analysis.drill_playbook.FIELDS)
    def fields(self, inc: dict[str, Any], group: Group, **extra: str) -> dict[str, str]:
        pb, iid = self.pb, int(inc["incident"])
        unknown = pb.phrase("unknown")
        t = {k: _num(inc.get(f"t_{k}_s")) for k in ("occur", "report", "dispatch", "arrival", "control")}
        pipe_id = inc["scope"].rsplit(".", 1)[-1] if str(inc["scope"]).startswith("water.pipe.") else ""
        link = (int(group.scope.rsplit(".", 1)[-1]) if group.scope.startswith("roads.link.")
                else self.pipe_link(pipe_id) if pipe_id else None)
        isolate, repair, restore = (self.first(iid, k) for k in ("isolate", "repair", "restore"))
        segment = isolate.note.removeprefix("segment=").split(",") if isolate and isolate.note else []
        segment = [s for s in segment if s]
        valves = _ids(group.scopes) if group.kind == "valve_fail" else []
        now = self.customers_now(group.t_s)
        place = pb.phrase("place", zone=self.zone(str(inc["zone"])), node=_fmt_int(inc.get("node")))
        units = [self.unit(s) for s in group.scopes if s.startswith("units.")]
        restored = restore.t_s if restore else None
        f = {
            "zone": self.zone(str(inc["zone"])), "node": _fmt_int(inc.get("node")), "place": place,
            "road": self.road(link), "pipe": self.pipe(pipe_id) if pipe_id else unknown,
            "type": pb.name("incident_types", inc["type"]),
            "severity": pb.name("severity", int(_num(inc["severity"]) or 3)),
            "clock": self.clock(group.t_s), "incident": str(iid),
            "units": pb.join(units) if units else unknown, "unit": units[0] if units else unknown,
            "first_unit": self.unit(str(inc["first_unit"])) if inc.get("first_unit") else unknown,
            "n_units": _fmt_int(inc.get("n_units")),
            # no capable unit free when the call was ready: it waited in a queue (incidents.csv wait_s)
            "fire_units": pb.phrase("fire_units_waiting" if self.queued(iid) else "fire_units_sent"),
            "units_status": pb.phrase("units_waiting" if self.queued(iid) else "units_sent"),
            "customers": str(int(self.customers(iid))) if isolate else unknown, "customers_now": str(now),
            "outage_now": pb.phrase("outage_now", customers_now=now) if now > 0 else pb.phrase("outage_unknown"),
            "segment": _short_list(pb, segment, 6, "segment_many") if segment else unknown,
            "valves": (pb.phrase("valves_many", ids=pb.join(valves[:3]), n=len(valves)) if len(valves) > 4
                       else pb.phrase("valves", ids=pb.join(valves))) if valves else unknown,
            "repair_duration": pb.duration(repair.value) if repair and repair.value else unknown,
            "restore_eta": self.clock(repair.t_s + repair.value) if repair and repair.value else unknown,
            "outage_duration": (pb.duration(_span(t["occur"], restored)) if restored is not None
                                else pb.phrase("not_restored")),
            "detection": pb.duration(_span(t["occur"], t["report"])),
            "eta": pb.duration(_span(t["arrival"], t["control"])),
            "call_processing": pb.duration(self.metric("call_processing", iid)),
            "travel": pb.duration(self.metric("travel", iid)),
            "queue": _fmt_int(group.value), "delay": unknown, "target": unknown,
            "occur_clock": self.clock(t["occur"]), "report_clock": self.clock(t["report"]),
            "dispatch_clock": self.clock(t["dispatch"]), "arrive_clock": self.clock(t["arrival"]),
            "control_clock": self.clock(t["control"]),
            "isolate_clock": self.clock(isolate.t_s) if isolate else unknown,
            "restore_clock": self.clock(restored) if restored is not None else pb.phrase("not_restored"),
        }
        f.update(self._hazard_fields(inc, group))
        if self.storm is not None:
            f.update(self.storm.fields(inc, group))
        f.update(extra)
        return f

    def _hazard_fields(self, inc: dict[str, Any], group: Group) -> dict[str, str]:
        """Fields of power faults, gas leaks and high-rise fires (analysis.drill_playbook.FIELDS)."""
        pb, iid = self.pb, int(inc["incident"])
        unknown = pb.phrase("unknown")
        ids = _ids(group.scopes)
        zones = list(dict.fromkeys(z for z in (self.zone_of(sc, n) for sc, n in
                                               zip(group.scopes, group.notes or [""] * len(group.scopes),
                                                   strict=True)) if z))
        life = self.lifeline_totals(iid)
        fed = self.fed(iid, group, "hospital") if group.kind == "lifeline_down" else []

        def total(cls: str) -> str:
            return str(int(life[cls][0])) if cls in life else "0"

        def named(cls: str) -> str:
            if cls not in life:
                return unknown
            zs = list(dict.fromkeys(z for z in (self.zone_of(sc, n) for sc, n in life[cls][1]) if z))
            return pb.join([self.zone(z) for z in zs]) if zs else _short_list(
                pb, _ids([sc for sc, _ in life[cls][1]]), 6, "segment_many")

        ignite = self.first(iid, "ignite")
        water = self.first(iid, "first_water")
        second = self.first(iid, "second_alarm")
        exposed, casualties = self.first(iid, "exposed"), self.first(iid, "casualties")
        # floors untenable by first water (all of them when water never came)
        untenable = [g for g in self.groups.get((iid, "untenable"), []) if water is None or g.t_s <= water.t_s]
        floors = sorted(int(g.value) for g in untenable if g.value is not None)
        shut = self.first(iid, "shut_off")
        evac = self.first(iid, "evacuate")
        location = _note_value(ignite.note, "location") if ignite else ""
        relay = water is not None and "relay" in water.note.casefold()
        segment = shut.note.removeprefix("segment=").split(",") if shut and shut.note else []
        return {
            "asset": self.component(str(inc["scope"])),
            "component": self.component(group.scope),
            "components": _short_list(pb, ids, 6, "segment_many") if ids else unknown,
            "component_names": _short_list(pb, [self.component(sc) for sc in group.scopes], 4, "segment_many"),
            "trapped_block": self._trapped_block(group),
            "fed_hospitals": pb.join([self.component(sc) for sc, _ in fed]) if fed else unknown,
            "fed_backup": pb.duration(fed[0][1] * 3600.0) if fed and fed[0][1] is not None else unknown,
            "n_components": str(len(group.scopes)),
            "value": _fmt_int(group.value), "total": _fmt_int(group.total),
            "zones": pb.join([self.zone(z) for z in zones]) if zones else unknown,
            "power_customers": total("power.feeder"), "power_zones": named("power.feeder"),
            "signal_zones": named("roads.signals"), "signal_links": total("roads.signals"),
            "pumps_down": pb.phrase("pumps_down", pumps=pb.join([self.component(sc) for sc, _ in
                                                                 life["water.pump"][1]]))
            if "water.pump" in life else "",
            "lifted_nodes": total("water.pump"),
            "booster_households": total("water.booster"), "n_boosters": str(len(life.get("water.booster",
                                                                                         (0, ()))[1])),
            "trapped_lifts": total("elevators"), "n_lift_blocks": str(len(life.get("elevators", (0, ()))[1])),
            "entrapments": str(self.entrapments(group.t_s)),
            "backup": pb.duration(group.value * 3600.0) if group.value is not None else unknown,
            "radius": _metres(pb, _note_value(evac.note, "radius")) if evac else unknown,
            "households": _fmt_int(evac.value) if evac else unknown,
            "gas_customers": _fmt_int(shut.value) if shut else unknown,
            "gas_segment": _short_list(pb, [x for x in segment if x], 6, "segment_many") if segment else unknown,
            "shut_off_clock": self.clock(shut.t_s) if shut else unknown,
            "building": self.component(str(inc["scope"])),
            "floor": _fmt_int(ignite.value) if ignite else unknown,
            "location": pb.name("fire_locations", location) if location else unknown,
            "detect_how": pb.phrase("detect_alarm" if group.note and "alarm" in group.note.casefold()
                                    and "no working" not in group.note.casefold() else "detect_discovered"),
            "floors_untenable": str(len(floors)),
            "untenable_floors": _floor_ranges(pb, floors) if floors else unknown,
            "second_alarm_floors": _fmt_int(second.value) if second else unknown,
            "water_source": pb.phrase("water_relay" if relay else "water_building") if water else unknown,
            "first_water_clock": self.clock(water.t_s) if water else unknown,
            "first_water_after": pb.duration(water.value) if water and water.value is not None else unknown,
            "exposed": str(round(exposed.value)) if exposed and exposed.value is not None else unknown,
            "casualties": str(round(casualties.value)) if casualties and casualties.value is not None else unknown,
            "occupants": _note_value(exposed.note, "occupants").split(".")[0] if exposed else unknown,
        }

    def _trapped_block(self, group: Group) -> str:
        """The first high-rise of a lift outage with people trapped, with its zone."""
        pb = self.pb
        for sc, note, v in zip(group.scopes, group.notes or [""] * len(group.scopes),
                               group.values or [None] * len(group.scopes), strict=True):
            if sc.startswith("elevators.") and v is not None and v >= 1:
                zone = self.zone_of(sc, note)
                return pb.phrase("block_in_zone", block=pb.text(pb.data["components"]["buildings.highrise"],
                                                                id=sc.rsplit(".", 1)[-1]),
                                 zone=self.zone(zone) if zone else pb.phrase("unknown"))
        return pb.phrase("unknown")

    def fed(self, incident: int, group: Group, cls: str) -> list[tuple[str, float | None]]:
        """Components of class ``cls`` that later lost one of ``group``'s components (``cause=`` in their note).

        A hospital runs on its generator when its feeder drops and is logged
        only when the fuel runs out; this finds it from the feeder's record.
        """
        out = []
        for g in self.groups.get((incident, "lifeline_down"), []):
            if g.t_s < group.t_s or component_class(g.scope) != cls:
                continue
            for sc, note, v in zip(g.scopes, g.notes or [""] * len(g.scopes), g.values or [None] * len(g.scopes),
                                   strict=True):
                if _note_value(note, "cause") in group.scopes:
                    out.append((sc, v))
        return out

    def entrapments(self, t: float) -> int:
        """Elevator entrapment calls occurring at ``t`` (a power loss traps them all at once)."""
        return sum(1 for r in self.incidents.values()
                   if str(r["type"]) == "elevator_entrapment" and abs(float(r["t_occur_s"]) - t) < 1e-6)

    # -- objectives
    def _unit_times(self, kind: str, iid: int, what: str) -> list[tuple[float, str]]:
        """(time, unit scope) of ``what`` events of ``iid``'s units of ``kind``, in time order."""
        prefix = f"units.{kind}."
        return [(g.t_s, sc) for g in self.groups.get((iid, what), ()) for sc in g.scopes if sc.startswith(prefix)]

    def kind_sent(self, kind: str, iid: int) -> bool:
        """Was a unit of ``kind`` sent to ``iid``, or asked for and queued?"""
        return any(self._unit_times(kind, iid, what) for what in ("dispatch", "retask")) or any(
            sc == f"units.{kind}" for g in self.groups.get((iid, "queue"), ()) for sc in g.scopes)

    def queued(self, iid: int) -> bool:
        """No unit at all was free for ``iid`` when its call was ready: it waited for its first unit
        (wait_s > 0), or none was ever sent (still queued at the horizon, or closed unserved).
        A call whose engines went at once while its ladder queued is not waiting."""
        inc = self.incidents[iid]
        return (_num(inc.get("wait_s")) or 0.0) > 0 or _num(inc.get("t_dispatch_s")) is None

    def unit_metric(self, name: str, kind: str, iid: int) -> float | None:
        """``name`` measured on the first unit of ``kind`` on scene at ``iid`` (None if none came).

        An objective about one agency (the gas crew at a leak, the ambulance at a fire) is
        scored on that agency's unit, not on whichever unit of the run card came first.
        """
        arrivals = self._unit_times(kind, iid, "arrive")
        if not arrivals:
            return None
        t_arr, unit = arrivals[0]
        if name == "response":
            report = _num(self.incidents[iid].get("t_report_s"))
            return t_arr - report if report is not None else None
        if name == "turnout":
            sent = [t for t, sc in self._unit_times(kind, iid, "dispatch") + self._unit_times(kind, iid, "retask")
                    if sc == unit and t <= t_arr]
            out = [t for t, sc in self._unit_times(kind, iid, "enroute") if sc == unit and sent and max(sent) <= t <= t_arr]
            return out[0] - max(sent) if out else None  # sent on from the road: no turnout
        if name == "arrival_to_handover":
            cleared = [t for t, sc in self._unit_times(kind, iid, "clear") if sc == unit and t >= t_arr]
            return cleared[0] - t_arr if cleared else None
        raise ValueError(f"metric {name}@{kind}: only {', '.join(UNIT_METRICS)} take a unit kind")

    def metric(self, name: str, iid: int) -> float | None:
        """Observed value of ``name`` at ``iid``; ``name@kind`` measures it on the first unit of ``kind``."""
        if "@" in name:
            base, _, kind = name.partition("@")
            return self.unit_metric(base, kind, iid)
        inc, comp = self.incidents[iid], self.components.get(iid, {})
        if name in comp:
            return _num(comp[name])
        occur, report, arrival, control = (_num(inc.get(f"t_{k}_s")) for k in ("occur", "report", "arrival", "control"))
        isolate, restore = self.first(iid, "isolate"), self.first(iid, "restore")
        if name == "report_to_isolate" and isolate and report is not None:
            return isolate.t_s - report
        if name == "burst_to_restore" and restore and occur is not None:
            return restore.t_s - occur
        shut, water = self.first(iid, "shut_off"), self.first(iid, "first_water")
        if name == "report_to_shut_off" and shut and report is not None:
            return shut.t_s - report
        if name == "ignition_to_first_water" and water:
            return water.value
        if name == "entrapment_response":
            vals = [v for i, r in self.incidents.items() if str(r["type"]) == "elevator_entrapment"
                    and (v := _num(self.components.get(i, {}).get("response"))) is not None]
            return fractile(vals, float(self.standards.get("fractile", 0.9))) if vals else None
        if name == "restore_to_relit" and restore:  # gas back in the main until the last home is relit
            if restore.value == 0:
                return 0.0
            done = [g.t_s for g in self.groups.get((iid, "relight"), ()) if g.value == 0]
            return done[0] - restore.t_s if done else None
        if name == "arrival_to_handover" and control is not None and arrival is not None:
            return control - arrival
        return None

    def target(self, objective: dict[str, Any], observed: float | None, iid: int | None) -> float | None:
        tgt = objective["target"]
        if "standard" in tgt and _num(self.standards.get(tgt["standard"])) is not None:
            return float(self.standards[tgt["standard"]])
        if tgt.get("simulated") and observed is not None:
            step = float(self.pb.data["defaults"]["round_s"])
            return max(step, math.ceil(observed / step - 1e-9) * step)
        large = tgt.get("large")
        if large and iid is not None:
            pipe_id = str(self.incidents[iid]["scope"]).rsplit(".", 1)[-1]
            d = _num((self.pipes.get(pipe_id) or {}).get("diameter_mm"))
            if d is not None and d >= float(large["diameter_mm"]):
                return float(large["seconds"])
        return _num(tgt.get("seconds"))


def _span(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None


def _fmt_int(v: Any) -> str:
    f = _num(v)
    return str(int(f)) if f is not None else "—"


def _metres(pb: Playbook, text: str) -> str:
    """``100 m`` (an events.csv note) in the script's language."""
    n = text.removesuffix("m").strip()
    return pb.phrase("metres", n=n) if n else pb.phrase("unknown")


def _floor_ranges(pb: Playbook, floors: list[int]) -> str:
    """[19, 20, 21, 25] -> "19-21, 25" (floors untenable so far)."""
    runs: list[list[int]] = []
    for f in floors:
        if runs and f == runs[-1][-1] + 1:
            runs[-1].append(f)
        else:
            runs.append([f])
    return pb.join([f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs])


def _short_list(pb: Playbook, ids: list[str], keep: int, phrase: str) -> str:
    if len(ids) <= keep:
        return pb.join(ids)
    return pb.phrase(phrase, ids=pb.join(ids[: keep - 2]), n=len(ids), more=len(ids) - keep + 2)
