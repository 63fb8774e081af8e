"""The engine: SimPy lives only here.

Phases (desmod's shape): wire (environment, road and water state, units,
dispatcher, processes) -> run(until=horizon) -> finalize (work still open at
the horizon gets an explicit ``open_at_end`` record). The engine owns every
consequence of a hazard: a burst depressurises its segment, a crew isolates
it (valves may fail and widen it), the road over the main closes for the
repair, customers get water back at restoration. Power faults cascade through
the dependency graph of :mod:`sim.lifelines` (feeders, booster pumps and the
pressure zones they lift, high-rise boosters, traffic signals, elevators,
hospitals); every consequence is logged with its cause. Rain (a
``weather.rain`` hazard) is handed to :mod:`sim.flood_process`, which floods
roads and raises its own incidents; the engine keeps small hooks for it.

Randomness: each incident draws from its own stream, keyed by where it came
from (``call.K`` for the K-th background call, ``hazard.H3`` for a hazard), so
a change of policy cannot shift the draws of any other incident.

Memory: an incident is made when it happens (one process feeds the planned
ones in time order), and once it and every incident before it have closed it
leaves memory; with a :class:`LogSink` (the runner's, writing the run folder)
the event log and the finished incidents go to disk in chunks while the run
goes on, so a simulated year holds no more than a day's worth of state.
"""

from __future__ import annotations

import functools
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import simpy

from scenarios.background import Call
from scenarios.base import Hazard
from sim import fire_response
from sim.city import City
from sim.config import ScenarioConfig
from sim.dispatch import Dispatcher, Incident, Unit, serve
from sim.district_power import node_zones
from sim.flood_process import FLOOD_TYPES, FloodProcess, attach
from sim.gas import GasState
from sim.lifelines import Change, LifelineState, build_graph, elevators_in, zone_links
from sim.log import Record, ServiceRecord
from sim.policy import Policy, draw
from sim.rng import Streams
from sim.roads import RoadState
from sim.water import WaterState

__all__ = ["RunLog", "run"]


#: Rows held before they are handed to the sink.
CHUNK_ROWS = 50_000


class LogSink(Protocol):
    """Where a long run's rows go while it runs (:class:`sim.output.RunSink` writes the run folder)."""

    def events(self, rows: list[Record]) -> None: ...

    def incidents(self, rows: list[Incident]) -> None: ...

    def late_incidents(self, rows: list[Incident]) -> None:
        """Incidents raised during the run, final, in id order: their rows follow every planned one's."""


@dataclass
class RunLog:
    """Everything a run recorded, ready to be written to the run folder.

    With a ``sink``, ``events``, ``incidents`` and ``late`` hold only the rows
    not yet handed to it (the sink has the rest, in order); ``n_events`` and
    ``n_incidents`` count them all. Incidents raised during the run (ids after
    every planned one) are final on their own watermark and wait in ``late``,
    so an entrapment that closes early does not stay in memory until the last
    planned incident closes; without a sink, :func:`run` appends them to
    ``incidents`` at the end (id order either way).
    """

    events: list[Record] = field(default_factory=list)
    service: list[ServiceRecord] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    late: list[Incident] = field(default_factory=list)
    horizon_s: float = 0.0
    sink: LogSink | None = None
    n_events: int = 0
    n_incidents: int = 0
    # Requests for a unit kind the city has none of, by (incident type, kind) (Dispatcher.lacking).
    lacking: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, rec: Record) -> None:
        self.events.append(rec)
        self.n_events += 1
        if self.sink is not None and len(self.events) >= CHUNK_ROWS:
            self.sink.events(self.events)
            self.events = []

    def finished(self, inc: Incident, late: bool = False) -> None:
        """``inc`` and every incident before it (of its kind: planned, or raised during the run) are done."""
        self.n_incidents += 1
        if late:
            self.late.append(inc)
            if self.sink is not None and len(self.late) >= CHUNK_ROWS // 10:
                self.sink.late_incidents(self.late)
                self.late = []
            return
        self.incidents.append(inc)
        if self.sink is not None and len(self.incidents) >= CHUNK_ROWS // 10:
            self.sink.incidents(self.incidents)
            self.incidents = []


class _World:
    def __init__(self, city: City, policy: Policy, streams: Streams, log: RunLog) -> None:
        self.env = simpy.Environment()
        self.city = city
        self.policy = policy
        self.streams = streams
        self.log = log
        self.roads = RoadState(city.roads)
        self._depot_free: np.ndarray | None = None  # free-flow times from the power depots (restoration order)
        self.water = WaterState(city.water, city.roads.n_nodes)
        units = []
        for st in city.stations:
            for spec in st.units:
                units.append(Unit(spec=spec, home=st.node, turnout_s=policy.turnout_s.get(spec.kind, 0.0)))
        self.units = units
        self.dispatcher = Dispatcher(
            self.env, self.roads, units, self.record, policy.cfg.dispatch.retask_returning
        )
        self.dispatcher.on_arrive = self.on_arrive
        self.dispatcher.on_clear = self.on_clear
        self._rosters = self._make_rosters()
        if self._rosters:
            self.dispatcher.on_duty = self.on_duty
            self.dispatcher.rostered = True
        zx = np.array([z.x_m for z in city.zones]) if city.zones else np.zeros(0)
        zy = np.array([z.y_m for z in city.zones]) if city.zones else np.zeros(0)
        self._zones = (zx, zy, [z.id for z in city.zones])
        self._out = 0
        self._cascade_out = 0
        # Incidents made and not yet final (by id); ids are given in time order to the planned
        # incidents (1..n_planned), then to those raised during the run.
        self.live: dict[int, Incident] = {}
        self.n_planned = 0
        self.n_arrived = 0
        self.n_spawned = 0
        self._next_final = 1  # the next planned incident to become final
        self._next_late = 1  # the next incident raised during the run to become final (set by plan)
        # Lifelines: the dependency graph, its state, and what each component does.
        self.lifelines = LifelineState(build_graph(city, policy.cfg.lifelines.dependencies))
        self._root: dict[str, int | None] = {}  # component -> the incident at the root of its failure
        self._downs: dict[str, int] = {}  # component -> times it went down (keys entrapment streams)
        self._rechecks: set[float] = set()
        self._signal_links: dict[str, np.ndarray] = {}
        grid = city.power
        self.feeders = {f"power.feeder.{f.id}": f for f in grid.feeders} if grid else {}
        self.power_total = sum(f.customers for f in self.feeders.values())
        self._power_out = 0
        self.highrise = {h.id: h for h in city.highrises}
        self.pumps = {p.id: p for p in city.water.pumps}
        self._node_zone: np.ndarray | None = None
        self.gas = GasState(city.gas, city.roads.n_nodes) if city.gas is not None else None
        self._gas_out = 0
        self.flood: FloodProcess | None = None

    @functools.cached_property
    def pipe_index(self) -> dict[str, int]:
        """Water pipe id -> index (built when a hazard first names a pipe: a metro has 10^5 of them)."""
        return {pid: j for j, pid in enumerate(self.city.water.pipe_ids)}

    @functools.cached_property
    def gas_index(self) -> dict[str, int]:
        """Gas pipe id -> index, likewise."""
        return {pid: j for j, pid in enumerate(self.city.gas.pipe_ids)} if self.city.gas is not None else {}

    # --------------------------------------------------------------- rosters
    def _make_rosters(self) -> dict[str, tuple[float, float, set[str]]]:
        """kind -> (day start s, day end s into the day, scopes of the units on night duty)."""
        out = {}
        for kind, sh in sorted(self.policy.cfg.shifts.items()):
            units = [u for u in self.units if u.kind == kind]
            if not units:
                continue
            n_night = max(1, int(np.ceil(sh.night_share * len(units)))) if sh.night_share > 0 else 0
            out[kind] = (sh.day_start_h * 3600.0, sh.day_end_h * 3600.0, {u.scope for u in units[:n_night]})
        return out

    def _hour_s(self, t: float) -> float:
        """Seconds into the local day at simulation time ``t``."""
        return (self.policy.start_hour * 3600.0 + t) % 86400.0

    def on_duty(self, unit: Unit) -> bool:
        roster = self._rosters.get(unit.kind)
        if roster is None:
            return True
        start, end, night = roster
        return start <= self._hour_s(self.env.now) < end or unit.scope in night

    def roster(self, horizon_s: float) -> Generator[simpy.Event, Any, None]:
        """At every shift change, crews coming on duty take the queued work."""
        changes = sorted({b for start, end, _ in self._rosters.values() for b in (start, end)})
        if not changes:
            return
        t = 0.0
        while True:
            h = self._hour_s(t)
            ahead = [(b - h) % 86400.0 for b in changes]
            step = min(a for a in ahead if a > 1e-9) if any(a > 1e-9 for a in ahead) else 86400.0
            t += step
            if t >= horizon_s:
                return
            yield self.env.timeout(t - self.env.now)
            for unit in self.units:
                if unit.kind in self._rosters and unit.status == "idle" and self.on_duty(unit):
                    inc = self.dispatcher.next_for(unit)
                    if inc is not None:
                        self.dispatcher.set_status(unit, "busy")
                        assert unit.wake is not None
                        unit.wake.succeed(inc)

    # --------------------------------------------------------------- records
    def record(self, rec: Record) -> None:
        self.log.add(rec)

    def service_changed(self, cause: str) -> None:
        out, cascade = self.water.customers_out_split()
        total = self.water.total
        if out != self._out:
            self._out = out
            frac = 1.0 - out / total if total else 1.0
            self.log.service.append(ServiceRecord(self.env.now, "water", round(frac, 6), out, total, cause))
        if cascade != self._cascade_out:
            # The part of the water outage that a power cascade caused (pumps and boosters).
            self._cascade_out = cascade
            frac = 1.0 - cascade / total if total else 1.0
            self.log.service.append(ServiceRecord(self.env.now, "water.cascade", round(frac, 6), cascade, total,
                                                  cause))

    def gas_changed(self, cause: str) -> None:
        assert self.gas is not None
        out = self.gas.customers_out()
        if out != self._gas_out:
            self._gas_out = out
            total = self.gas.total
            frac = 1.0 - out / total if total else 1.0
            self.log.service.append(ServiceRecord(self.env.now, "gas", round(frac, 6), out, total, cause))

    def power_changed(self, cause: str) -> None:
        out = sum(f.customers for c, f in self.feeders.items() if self.lifelines.is_down(c))
        if out != self._power_out:
            self._power_out = out
            total = self.power_total
            frac = 1.0 - out / total if total else 1.0
            self.log.service.append(ServiceRecord(self.env.now, "power", round(frac, 6), out, total, cause))

    def zone_of(self, node: int) -> str:
        zx, zy, ids = self._zones
        if not ids:
            return ""
        x, y = self.city.roads.x_m[node], self.city.roads.y_m[node]
        return ids[int(np.argmin((zx - x) ** 2 + (zy - y) ** 2))]

    # ------------------------------------------------------------- incidents
    def plan(self, calls: list[Call], hazards: list[Hazard]) -> list[tuple[float, str, Call | Hazard]]:
        """The incidents the inputs will raise, in time order: (time, stream key, call or hazard)."""
        items: list[tuple[float, int, str, Call | Hazard]] = []
        for k, c in enumerate(calls):
            items.append((c.t_s, 0, f"call.{k}", c))
        for h in hazards:
            if h.kind in ("water.pipe_burst", "fire.ebike", "power.substation_fault", "power.feeder_fault",
                          "gas.leak", "gas.lpg_leak"):
                items.append((h.t_s, 1, f"hazard.{h.id}", h))
        items.sort(key=lambda it: (it[0], it[1], it[2]))
        self.n_planned = len(items)
        self._next_late = self.n_planned + 1
        return [(t, key, item) for t, _, key, item in items]

    def arrivals(self, plan: list[tuple[float, str, Call | Hazard]]) -> Generator[simpy.Event, Any, None]:
        """Make each planned incident when it happens and start its life."""
        env = self.env
        for i, (t, key, item) in enumerate(plan, start=1):
            if t > env.now:
                yield env.timeout(_delay_to(env.now, t))
            # The clock's own time: where t cannot be reached exactly (an ulp away), the
            # incident's t_occur and its occur record still agree.
            inc = self.make_incident(i, env.now, key, item)
            self.n_arrived += 1
            env.process(self.lifecycle(inc))

    def make_incident(self, i: int, t: float, key: str, item: Call | Hazard) -> Incident:
        d = self.policy.cfg.dispatch
        rng = self.streams.fresh(f"incident.{key}")
        if isinstance(item, Call):
            typ, node, scope, source = item.type, item.node, f"roads.node.{item.node}", "background"
        elif item.kind == "fire.ebike":
            typ, node, scope, source = "highrise_fire", fire_response.node_of(self.city, item), item.scope, item.id
        elif item.kind == "water.pipe_burst":
            j = self.pipe_index[item.params["pipe"]]
            typ = "water_main_break"
            node = int(self.city.water.u[j])
            scope, source = item.scope, item.id
        elif item.kind == "gas.leak":
            assert self.city.gas is not None
            typ, node = "gas_leak", int(self.city.gas.u[self.gas_index[item.params["pipe"]]])
            scope, source = item.scope, item.id
        elif item.kind == "gas.lpg_leak":
            typ, node = "lpg_leak", int(item.params["node"])
            scope, source = item.scope, item.id
        else:
            typ, node = self._power_fault_site(item)
            scope, source = item.scope, item.id
        inc = Incident(
            id=i, type=typ, severity=int(d.severity.get(typ, 3)), source=source, scope=scope,
            node=node, zone=self.zone_of(node), t_occur=float(t), rng=rng,
        )
        inc.controlled = self.env.event()
        if isinstance(item, Hazard) and item.kind == "fire.ebike":
            inc.extra["hazard"] = item
        elif isinstance(item, Hazard) and item.kind == "water.pipe_burst":
            inc.extra["pipe"] = self.pipe_index[item.params["pipe"]]
        elif isinstance(item, Hazard) and item.kind == "gas.leak":
            inc.extra["gas_pipe"] = self.gas_index[item.params["pipe"]]
            inc.extra["work_by"] = "gas_crew"  # the shut-off waits for the gas company
        elif isinstance(item, Hazard) and item.kind == "gas.lpg_leak":
            pass
        elif isinstance(item, Hazard):
            inc.extra["component"] = item.scope
        self.live[inc.id] = inc
        return inc

    def closed(self) -> None:
        """An incident closed: hand on, in id order, every incident that is now final.

        Planned incidents (ids 1..n_planned) and those raised during the run
        (the ids after) each keep their own watermark: a raised incident does
        not wait for the last planned one to close.
        """
        self._next_final = self._hand_on(self._next_final, self.n_planned, late=False)
        self._next_late = self._hand_on(self._next_late, None, late=True)

    def _hand_on(self, nxt: int, last: int | None, late: bool) -> int:
        """Hand on the final incidents from id ``nxt`` (up to ``last``); returns the next id not yet final."""
        while last is None or nxt <= last:
            inc = self.live.get(nxt)
            if inc is None or inc.t_close is None or not fire_response.settled(inc):
                break
            del self.live[nxt]
            nxt += 1
            self.log.finished(inc, late=late)
        return nxt

    def spawn(self, typ: str, node: int, scope: str, source: str, stream: str, *, zone: str | None = None,
              severity: int | None = None, default_severity: int = 3, **extra: Any) -> Incident:
        """An incident raised during the run (an entrapment, an ignition, a flood trip): the next id,
        its own named stream, started now."""
        d = self.policy.cfg.dispatch
        inc = Incident(
            id=self.n_planned + self.n_spawned + 1, type=typ, source=source,
            severity=int(d.severity.get(typ, default_severity)) if severity is None else severity,
            scope=scope, node=node, zone=self.zone_of(node) if zone is None else zone, t_occur=self.env.now,
            rng=self.streams.fresh(stream),
        )
        inc.controlled = self.env.event()
        inc.extra.update(extra)
        self.live[inc.id] = inc
        self.n_spawned += 1
        self.env.process(self.lifecycle(inc))
        return inc

    def _power_fault_site(self, h: Hazard) -> tuple[str, int]:
        assert self.city.power is not None
        kind, cid = h.scope.split(".")[1:3]
        if kind == "substation":
            return "substation_fault", next(s.node for s in self.city.power.substations if s.id == cid)
        f = self.feeders[h.scope]
        return "feeder_fault", next(z.node for z in self.city.zones if z.id == f.zone)

    def lifecycle(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        env, pol = self.env, self.policy.cfg
        # Draw every uniform this incident may need, in a fixed order, whatever
        # the policy: the streams stay aligned across policies.
        u = inc.rng.random(8)
        if inc.t_occur > env.now:
            yield env.timeout(inc.t_occur - env.now)
        self.record(Record(env.now, "occur", inc.scope, inc.id, float(inc.severity), inc.type))
        delay, channel = 0.0, ""  # channel: what raised the alarm, where the model knows it
        if inc.type == "water_main_break":
            pipe = inc.extra["pipe"]
            self.record(Record(env.now, "burst", inc.scope, inc.id))
            self.water.depressurise(pipe)
            self.service_changed(f"{inc.scope} burst")
            delay, channel = draw(pol.detection.customer_calls, u[0]), "customer_calls"
            if pol.interventions.pressure_monitoring:
                alarm = draw(pol.detection.pressure_monitoring, u[1])
                if alarm < delay:
                    delay, channel = alarm, "pressure_monitoring"
            inc.extra["u_repair"] = u[4]
        elif inc.type in ("substation_fault", "feeder_fault"):
            comp = inc.extra["component"]
            self.record(Record(env.now, "power_fault", comp, inc.id))
            self.lifelines.fail(comp, f"incident.{inc.id}")
            self._root[comp] = inc.id
            self.cascade(f"{comp} fault")
            delay = draw(pol.lifelines.detection, u[0])
            inc.extra["u_repair"] = u[4]
            inc.extra["priority"] = self.restoration_priority(inc)
        elif inc.type == "elevator_entrapment":
            delay = draw(pol.lifelines.entrapment_call, u[0])
        elif inc.type in ("gas_leak", "lpg_leak"):
            self.record(Record(env.now, "leak", inc.scope, inc.id))
            p_ignite = pol.gas.ignition_prob if inc.type == "gas_leak" else pol.gas.lpg_ignition_prob
            if u[5] < p_ignite:
                env.process(self._ignition(inc, draw(pol.gas.ignition_delay, u[6])))
            delay, channel = draw(pol.gas.detection, u[0]), "customer_calls"
            if pol.interventions.gas_monitoring and inc.type == "gas_leak":
                alarm = draw(pol.gas.monitoring, u[1])  # the same u[1] slot as water monitoring
                if alarm < delay:
                    delay, channel = alarm, "gas_monitoring"
            inc.extra["u_repair"] = u[4]
        elif inc.type == "highrise_fire":
            delay = fire_response.ignite(self, inc)
        inc.extra["u_scene"] = u[3]
        if delay > 0:
            yield env.timeout(delay)
        inc.t_report = env.now
        self.record(Record(env.now, "report", inc.scope, inc.id, round(delay, 3), channel))
        processing = draw(pol.dispatch.call_processing, u[2])
        if processing > 0:
            yield env.timeout(processing)
        inc.t_ready = env.now
        card = pol.dispatch.run_cards.get(inc.type) or inc.extra.get("card", {})
        inc.card_left = {kind: n for kind, n in card.items() if n > 0}
        any_unit = False
        for kind in sorted(card):
            for _ in range(card[kind]):
                any_unit |= self.dispatcher.request(inc, kind)
        if not any_unit:
            inc.outcome = "unserved"
            inc.t_close = env.now
            self.record(Record(env.now, "close", inc.scope, inc.id, None, "unserved: no capable unit"))
            self.closed()

    # ------------------------------------------------------------------ work
    def on_arrive(self, unit: Unit, inc: Incident, t_enroute: float, t_assigned: float) -> None:
        inc.n_units += 1
        left = inc.card_left.get(unit.kind, 0)
        if left > 0:  # one of the run card's units (the first of its kind to arrive fill it)
            inc.full_alarm_travel = max(inc.full_alarm_travel, self.env.now - t_enroute)
            if left == 1:
                del inc.card_left[unit.kind]
                if not inc.card_left:
                    inc.t_full_alarm = self.env.now
            else:
                inc.card_left[unit.kind] = left - 1
        if inc.t_arrival is None:
            inc.t_arrival = self.env.now
            inc.t_enroute = t_enroute
            inc.t_unit_dispatch = t_assigned
            inc.first_unit = unit.scope
            if inc.type in ("gas_leak", "lpg_leak"):
                self.evacuate(inc)
        # Work starts with the first unit, or with the first of the kind the work needs
        # (a gas crew closes the valves; the fire engine there first keeps the cordon).
        need = inc.extra.get("work_by")
        if not inc.extra.get("working") and (need is None or unit.kind == need):
            inc.extra["working"] = True
            self.env.process(self.work(inc))

    def on_clear(self, unit: Unit, inc: Incident) -> None:
        inc.cleared += 1
        if inc.cleared == inc.assigned and inc.t_control is not None and inc.t_close is None:
            inc.t_close = self.env.now
            inc.outcome = "resolved"
            self.record(Record(self.env.now, "close", inc.scope, inc.id, None, "resolved"))
            self.closed()

    def work(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        env, pol = self.env, self.policy.cfg
        st = pol.dispatch.on_scene.get(inc.type)
        on_scene = draw(st, inc.extra["u_scene"]) if st is not None else 0.0
        if inc.type == "highrise_fire":
            yield from fire_response.attack(self, inc)
        if on_scene > 0:
            yield env.timeout(on_scene)
        if inc.type == "water_main_break":
            yield from self.repair_main(inc)
        elif inc.type in ("substation_fault", "feeder_fault"):
            yield from self.repair_power(inc)
        elif inc.type == "gas_leak":
            yield from self.repair_gas(inc)
        elif inc.type == "lpg_leak":
            inc.extra["stopped"] = True
        if inc.type in ("gas_leak", "lpg_leak") and "evacuated" in inc.extra:
            self.record(Record(env.now, "all_clear", inc.scope, inc.id, float(inc.extra["evacuated"])))
        elif inc.type in FLOOD_TYPES and self.flood is not None:
            yield from self.flood.work(inc)
        inc.t_control = env.now
        self.record(Record(env.now, "control", inc.scope, inc.id))
        assert inc.controlled is not None
        inc.controlled.succeed()
        if inc.extra.pop("reopened_road", False):
            # A scene cut off by the works may be in reach again; after t_control, so a request of
            # this job still queued is dropped rather than sent to work already done.
            self.dispatcher.offer_queued()

    # -------------------------------------------------------------- cascades
    def cascade(self, cause: str) -> None:
        """Recompute the lifelines' fixed point and apply every change, logged with its cause."""
        env = self.env
        changes = self.lifelines.update(env.now)
        for ch in changes:
            root = self._root.get(ch.cause) if ch.cause.startswith(("power.", "water.")) else None
            if ch.down and ch.component not in self._root:
                self._root[ch.component] = root
            value = self.apply(ch)
            self.record(Record(env.now, "lifeline_down" if ch.down else "lifeline_up", ch.component,
                               self._root.get(ch.component), value, f"cause={ch.cause}"))
            if not ch.down:
                self._root.pop(ch.component, None)
        if changes:
            self.power_changed(cause)
            self.service_changed(cause)
        for t in self.lifelines.pending_delays(env.now):
            if t not in self._rechecks:
                self._rechecks.add(t)
                env.process(self._recheck(t))

    def _recheck(self, t: float) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(t - self.env.now)
        self._rechecks.discard(t)
        self.cascade("backup exhausted")

    def apply(self, ch: Change) -> float | None:
        """What a component going down (or up) does; returns the value to log."""
        cls, _, cid = ch.component.rpartition(".")
        ll = self.policy.cfg.lifelines
        if cls == "power.feeder":
            return float(self.feeders[ch.component].customers)
        if cls == "water.pump":
            if ch.down:
                self.water.lifted_lost[cid] = np.array(self.pumps[cid].lifted, dtype=np.int64)
            else:
                self.water.lifted_lost.pop(cid, None)
            return float(len(self.pumps[cid].lifted))
        if cls == "water.booster":
            h = self.highrise[cid]
            above = h.households * max(h.floors - ll.mains_floors, 0) // max(h.floors, 1)
            if ch.down:
                self.water.booster_lost[cid] = (h.node, above)
            else:
                self.water.booster_lost.pop(cid, None)
            return float(above)
        if cls == "roads.signals":
            return self._signals(cid, ch.down)
        if cls == "elevators":
            return float(self._entrapments(ch.component, cid)) if ch.down else None
        if cls == "drainage.pump":
            if self.flood is not None:
                self.flood.pump_power(int(cid), on=not ch.down)
            return None
        if cls == "hospital":
            fac = next(f for f in self.city.facilities if f.id == cid)
            return fac.backup_h
        return None

    def _signals(self, zone: str, dark: bool) -> float:
        f = self.policy.cfg.lifelines.signal_outage_factor
        if zone not in self._signal_links:
            if self._node_zone is None:
                self._node_zone = node_zones(self.city.roads, self.city.zones)
            k = next(i for i, z in enumerate(self.city.zones) if z.id == zone)
            self._signal_links[zone] = zone_links(self.city.roads.u, self.city.roads.v, self._node_zone, k)
        links = self._signal_links[zone]
        self.roads.set_causes("signals", links, [f if dark else None] * len(links))
        return float(len(links))

    def _entrapments(self, comp: str, hr: str) -> int:
        """Elevators stop between floors: each occupied one is an entrapment call."""
        ll = self.policy.cfg.lifelines
        h = self.highrise[hr]
        k = self._downs.get(comp, 0) + 1
        self._downs[comp] = k
        rng = self.streams.fresh(f"incident.cascade.{comp}.{k}")
        trapped = int(rng.binomial(elevators_in(h.households, ll.households_per_elevator), ll.p_occupied))
        for e in range(1, trapped + 1):
            self.spawn("elevator_entrapment", h.node, f"{comp}.{e}", comp, f"incident.cascade.{comp}.{k}.{e}",
                       zone=h.zone, default_severity=2)
        return trapped

    def flood_trip(self, comp: str, node: int, depth_m: float) -> None:
        """Flood water at a substation's site trips it: a substation fault from now."""
        inc = self.spawn("substation_fault", node, comp, "flood", f"incident.flood.{comp}", component=comp,
                         flooded=True)
        self.record(Record(self.env.now, "flood_trip", comp, inc.id, round(depth_m, 4)))

    def restoration_priority(self, inc: Incident) -> float:
        """Queue order of a power repair (lower first) under ``policy.lifelines.restoration_order``."""
        comp = inc.extra["component"]
        order = self.policy.cfg.lifelines.restoration_order
        if comp.startswith("power.feeder."):
            feeders = [self.feeders[comp]]
        else:
            sid = comp.rpartition(".")[2]
            feeders = [f for f in self.feeders.values() if f.substation == sid]
        customers = sum(f.customers for f in feeders)
        if order == "nearest":
            # Free-flow time from the nearest depot: the plan's order, not the roads at the fault's
            # moment (a site cut off by the water that tripped it would otherwise key as
            # unreachable and be repaired last, after the water had gone).
            if self._depot_free is None:
                depots = [s.node for s in self.city.stations if s.kind == "power_depot"]
                self._depot_free = self.roads.free_flow_from(depots)
            return float(self._depot_free[inc.node])
        if order == "customers":
            return -float(customers)
        zones = {f.zone for f in feeders}
        critical = sum(1 for p in self.city.water.pumps if p.zone in zones) + \
            sum(1 for f in self.city.facilities if f.zone in zones)
        return -(critical * 1e7 + float(customers))

    def repair_power(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        env, ll = self.env, self.policy.cfg.lifelines
        comp = inc.extra["component"]
        st = ll.substation_repair if inc.type == "substation_fault" else ll.feeder_repair
        duration = draw(st, inc.extra["u_repair"])
        self.record(Record(env.now, "repair", comp, inc.id, round(duration, 3)))
        yield env.timeout(duration)
        if inc.extra.get("flooded") and self.flood is not None and self.city.power is not None:
            # Not re-energised while water still stands on the site.
            sub = next(x for x in self.city.power.substations if f"power.substation.{x.id}" == comp)
            while self.flood.site_wet(sub.node, 0.0):
                yield env.timeout(self.flood.step_s)
        self.lifelines.repair(comp)
        self.record(Record(env.now, "restore", comp, inc.id))
        self.cascade(f"{comp} restored")

    # ------------------------------------------------------------------- gas
    def evacuate(self, inc: Incident) -> None:
        """The first unit on scene clears a cordon around the leak: the households inside it."""
        r = self.policy.cfg.gas.evacuation_radius_m
        x, y = self.city.roads.x_m, self.city.roads.y_m
        inside = (x - x[inc.node]) ** 2 + (y - y[inc.node]) ** 2 <= r * r
        households = int(self.city.water.customers[inside].sum())
        inc.extra["evacuated"] = households
        self.record(Record(self.env.now, "evacuate", inc.scope, inc.id, float(households), f"radius={r:g} m"))

    def _ignition(self, inc: Incident, delay: float) -> Generator[simpy.Event, Any, None]:
        """The leak finds an ignition source after ``delay`` unless the gas was stopped first."""
        yield self.env.timeout(delay)
        if inc.extra.get("stopped"):
            return
        self.record(Record(self.env.now, "ignite", inc.scope, inc.id))
        self.spawn("gas_fire", inc.node, f"{inc.scope}.fire", inc.source, f"incident.cascade.{inc.scope}.fire",
                   zone=inc.zone, default_severity=1)

    def repair_gas(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        """Shut the valves (customers lose gas), repair, then relight house by house."""
        env, g = self.env, self.policy.cfg.gas
        assert self.gas is not None and self.city.gas is not None
        net = self.city.gas
        j = int(inc.extra["gas_pipe"])
        fails = inc.rng.random(len(net.valves)) < g.valve_fail_prob
        if g.squeeze_off_pe and net.material[j] == "PE":
            self.gas.squeeze_off(j)
            pipes: tuple[int, ...] = (j,)
        else:
            iso = self.gas.isolate(j, fails)
            for k in iso.failed_valves:
                self.record(Record(env.now, "valve_fail", f"gas.valve.{net.valves[k].id}", inc.id))
            self.gas.apply(iso)
            pipes = iso.pipes
        inc.extra["stopped"] = True
        self.gas_changed(f"{inc.scope} shut off")
        seg = ",".join(net.pipe_ids[p] for p in pipes)
        self.record(Record(env.now, "shut_off", inc.scope, inc.id, float(self._gas_out), f"segment={seg}"))
        duration = draw(g.repair, inc.extra["u_repair"])
        self.record(Record(env.now, "repair", inc.scope, inc.id, round(duration, 3)))
        yield env.timeout(duration)
        unlit = self.gas.restore_unlit(j)
        self.record(Record(env.now, "restore", inc.scope, inc.id, float(unlit)))
        env.process(self._relight(inc, unlit))

    def _relight(self, inc: Incident, unlit: int) -> Generator[simpy.Event, Any, None]:
        """Technicians relight the customers of a shut-off; service returns step by step."""
        env, g = self.env, self.policy.cfg.gas
        assert self.gas is not None
        rate = g.relight_per_tech_h * g.relight_techs / 3600.0  # customers per second
        remaining = unlit
        while remaining > 0:
            step = min(g.relight_step_s, remaining / rate)
            yield env.timeout(step)
            done = self.gas.relight(min(remaining, max(1, int(round(rate * step)))))
            remaining -= done
            self.gas_changed(f"{inc.scope} relighting")
            self.record(Record(env.now, "relight", inc.scope, inc.id, float(remaining)))

    def repair_main(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        env, rep = self.env, self.policy.cfg.repair
        w = self.city.water
        j = int(inc.extra["pipe"])
        # Whether each valve would stick, from this incident's own stream.
        fails = inc.rng.random(len(w.valves)) < rep.valve_fail_prob
        iso = self.water.isolate(j, fails)
        for k in iso.failed_valves:
            self.record(Record(env.now, "valve_fail", f"water.valve.{w.valves[k].id}", inc.id))
        self.water.apply(iso)
        self.service_changed(f"{inc.scope} isolated")
        seg = ",".join(w.pipe_ids[p] for p in iso.pipes)
        self.record(Record(env.now, "isolate", inc.scope, inc.id, float(self._out), f"segment={seg}"))
        link = int(w.road_link[j])
        if link >= 0:
            self.roads.set_cause("repair", link, np.inf)
            self.record(Record(env.now, "road_close", f"roads.link.{link}", inc.id, None, "main repair"))
        big = w.diameter_mm[j] >= rep.large_diameter_mm
        duration = draw(rep.large if big else rep.small, inc.extra["u_repair"])
        self.record(Record(env.now, "repair", inc.scope, inc.id, round(duration, 3)))
        yield env.timeout(duration)
        self.water.restore(j)
        self.service_changed(f"{inc.scope} restored")
        self.record(Record(env.now, "restore", inc.scope, inc.id))
        if link >= 0:
            self.roads.set_cause("repair", link, None)
            self.record(Record(env.now, "road_open", f"roads.link.{link}", inc.id))
            inc.extra["reopened_road"] = True  # work() offers the queues once this job is done


def _delay_to(now: float, t: float) -> float:
    """A delay that brings the clock from ``now`` to ``t`` exactly where floats allow (``now + (t - now)``
    can miss by an ulp when ``t`` is far ahead; a few cases have no exact delay at all)."""
    d = t - now
    for _ in range(4):
        reached = now + d
        if reached == t:
            return d
        d = float(np.nextafter(d, np.inf if reached < t else -np.inf))
    return t - now


def run(
    city: City,
    hazards: list[Hazard],
    calls: list[Call],
    policy: Policy,
    horizon_s: float,
    streams: Streams,
    scenario: ScenarioConfig | None = None,
    start_hour: float = 0.0,
    sink: LogSink | None = None,
) -> RunLog:
    """Simulate ``[0, horizon_s)`` and return the log (nothing is written here).

    ``scenario`` and ``start_hour`` (local hour of t = 0) matter only to the
    flood (:mod:`sim.flood_process`), which runs when the hazards hold rain.
    With a ``sink``, rows go to it in chunks as the run goes on and the log
    keeps only the last of them (see :class:`RunLog`).
    """
    log = RunLog(horizon_s=horizon_s, sink=sink)
    world = _World(city, policy, streams, log)
    env = world.env
    world.flood = attach(world, hazards, scenario.waterlogging if scenario else None,
                         policy.cfg.early_warning, start_hour)
    total = world.water.total
    # Customers with no path to a plant are out from the start (a loaded
    # network may have them); the generated district has none.
    world._out = world.water.customers_out()
    frac = 1.0 - world._out / total if total else 1.0
    log.service.append(ServiceRecord(0.0, "water", round(frac, 6), world._out, total, "start"))
    if world.power_total:
        log.service.append(ServiceRecord(0.0, "power", 1.0, 0, world.power_total, "start"))
    if world.gas is not None and world.gas.total:
        world._gas_out = world.gas.customers_out()
        log.service.append(ServiceRecord(0.0, "gas", round(1.0 - world._gas_out / world.gas.total, 6),
                                         world._gas_out, world.gas.total, "start"))
    for unit in world.units:
        unit.node = unit.home
        unit.proc = env.process(serve(env, unit, world.dispatcher))
    if world._rosters:
        env.process(world.roster(horizon_s))
    env.process(world.arrivals(world.plan(calls, hazards)))
    if world.flood is not None:
        env.process(world.flood.run())
        if policy.cfg.early_warning.enabled:
            env.process(world.flood.early_warning())
    env.run(until=horizon_s)
    rest = [world.live[i] for i in sorted(world.live)]  # open at the horizon, or after an open one
    fire_response.finalize(world, rest, horizon_s)
    for inc in rest:
        if inc.t_close is None:
            inc.outcome = "open_at_end"
        log.finished(inc, late=inc.id > world.n_planned)
    if log.sink is None:  # the whole table in memory: raised incidents after the planned ones
        log.incidents.extend(log.late)
        log.late = []
    world.live.clear()
    world.roads.clear_cache()  # a metropolis's tables (up to 256 MB) go now, not at the next collection
    log.add(Record(horizon_s, "horizon", "run", None, float(world.n_arrived + world.n_spawned)))
    log.lacking = dict(sorted(world.dispatcher.lacking.items()))
    return log
