"""The engine: SimPy lives only here.

Phases (desmod's shape): wire (environment, road and water state, units,
dispatcher, processes) -> run(until=horizon) -> finalize (work still open at
the horizon gets an explicit ``open_at_end`` record). The engine owns every
consequence of a hazard: a burst depressurises its segment, a crew isolates
it (valves may fail and widen it), the road over the main closes for the
repair, customers get water back at restoration. Rain (a ``weather.rain``
hazard) is handed to :mod:`sim.flood_process`, which floods roads and raises
its own incidents; the engine keeps small hooks for it.

Randomness: each incident draws from its own stream, keyed by where it came
from (``call.K`` for the K-th background call, ``hazard.H3`` for a hazard), so
a change of policy cannot shift the draws of any other incident.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from scenarios.background import Call
from scenarios.base import Hazard
from sim.city import City
from sim.config import ScenarioConfig
from sim.dispatch import Dispatcher, Incident, Unit, serve
from sim.flood_process import FLOOD_TYPES, FloodProcess, attach
from sim.log import Record, ServiceRecord
from sim.policy import Policy, draw
from sim.rng import Streams
from sim.roads import RoadState
from sim.water import WaterState

__all__ = ["RunLog", "run"]


@dataclass
class RunLog:
    """Everything a run recorded, ready to be written to the run folder."""

    events: list[Record] = field(default_factory=list)
    service: list[ServiceRecord] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    horizon_s: float = 0.0


class _World:
    def __init__(self, city: City, policy: Policy, streams: Streams, log: RunLog) -> None:
        self.env = simpy.Environment()
        self.city = city
        self.policy = policy
        self.streams = streams
        self.log = log
        self.roads = RoadState(city.roads)
        self.water = WaterState(city.water, city.roads.n_nodes)
        self.pipe_index = {pid: j for j, pid in enumerate(city.water.pipe_ids)}
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
        zx = np.array([z.x_m for z in city.zones]) if city.zones else np.zeros(0)
        zy = np.array([z.y_m for z in city.zones]) if city.zones else np.zeros(0)
        self._zones = (zx, zy, [z.id for z in city.zones])
        self._out = 0
        self.flood: FloodProcess | None = None

    # --------------------------------------------------------------- records
    def record(self, rec: Record) -> None:
        self.log.events.append(rec)

    def service_changed(self, cause: str) -> None:
        out = self.water.customers_out()
        if out != self._out:
            self._out = out
            total = self.water.total
            frac = 1.0 - out / total if total else 1.0
            self.log.service.append(ServiceRecord(self.env.now, "water", round(frac, 6), out, total, cause))

    def zone_of(self, node: int) -> str:
        zx, zy, ids = self._zones
        if not ids:
            return ""
        x, y = self.city.roads.x_m[node], self.city.roads.y_m[node]
        return ids[int(np.argmin((zx - x) ** 2 + (zy - y) ** 2))]

    # ------------------------------------------------------------- incidents
    def make_incidents(self, calls: list[Call], hazards: list[Hazard]) -> list[Incident]:
        d = self.policy.cfg.dispatch
        items: list[tuple[float, int, str, Any]] = []
        for k, c in enumerate(calls):
            items.append((c.t_s, 0, f"call.{k}", c))
        for h in hazards:
            if h.kind == "water.pipe_burst":
                items.append((h.t_s, 1, f"hazard.{h.id}", h))
        items.sort(key=lambda it: (it[0], it[1], it[2]))
        out = []
        for i, (t, _, key, item) in enumerate(items, start=1):
            rng = self.streams.fresh(f"incident.{key}")
            if isinstance(item, Call):
                typ, node, scope, source = item.type, item.node, f"roads.node.{item.node}", "background"
            else:
                j = self.pipe_index[item.params["pipe"]]
                typ = "water_main_break"
                node = int(self.city.water.u[j])
                scope, source = item.scope, item.id
            inc = Incident(
                id=i, type=typ, severity=int(d.severity.get(typ, 3)), source=source, scope=scope,
                node=node, zone=self.zone_of(node), t_occur=float(t), rng=rng,
            )
            inc.controlled = self.env.event()
            if isinstance(item, Hazard):
                inc.extra["pipe"] = self.pipe_index[item.params["pipe"]]
            out.append(inc)
        return out

    def lifecycle(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        env, pol = self.env, self.policy.cfg
        # Draw every uniform this incident may need, in a fixed order, whatever
        # the policy: the streams stay aligned across policies.
        u = inc.rng.random(8)
        yield env.timeout(inc.t_occur - env.now)
        self.record(Record(env.now, "occur", inc.scope, inc.id, float(inc.severity), inc.type))
        delay = 0.0
        if inc.type == "water_main_break":
            pipe = inc.extra["pipe"]
            self.record(Record(env.now, "burst", inc.scope, inc.id))
            self.water.depressurise(pipe)
            self.service_changed(f"{inc.scope} burst")
            delay = draw(pol.detection.customer_calls, u[0])
            if pol.interventions.pressure_monitoring:
                delay = min(delay, draw(pol.detection.pressure_monitoring, u[1]))
            inc.extra["u_repair"] = u[4]
        inc.extra["u_scene"] = u[3]
        if delay > 0:
            yield env.timeout(delay)
        inc.t_report = env.now
        self.record(Record(env.now, "report", inc.scope, inc.id, round(delay, 3)))
        processing = draw(pol.dispatch.call_processing, u[2])
        if processing > 0:
            yield env.timeout(processing)
        inc.t_ready = env.now
        card = pol.dispatch.run_cards.get(inc.type) or inc.extra.get("card", {})
        any_unit = False
        for kind in sorted(card):
            for _ in range(card[kind]):
                any_unit |= self.dispatcher.request(inc, kind)
        if not any_unit:
            inc.outcome = "unserved"
            inc.t_close = env.now
            self.record(Record(env.now, "close", inc.scope, inc.id, None, "unserved: no capable unit"))

    # ------------------------------------------------------------------ work
    def on_arrive(self, unit: Unit, inc: Incident, t_enroute: float, t_assigned: float) -> None:
        inc.n_units += 1
        if inc.t_arrival is None:
            inc.t_arrival = self.env.now
            inc.t_enroute = t_enroute
            inc.t_unit_dispatch = t_assigned
            inc.first_unit = unit.scope
            self.env.process(self.work(inc))

    def on_clear(self, unit: Unit, inc: Incident) -> None:
        inc.cleared += 1
        if inc.cleared == inc.assigned and inc.t_control is not None and inc.t_close is None:
            inc.t_close = self.env.now
            inc.outcome = "resolved"
            self.record(Record(self.env.now, "close", inc.scope, inc.id, None, "resolved"))

    def work(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        env, pol = self.env, self.policy.cfg
        st = pol.dispatch.on_scene.get(inc.type)
        on_scene = draw(st, inc.extra["u_scene"]) if st is not None else 0.0
        if on_scene > 0:
            yield env.timeout(on_scene)
        if inc.type == "water_main_break":
            yield from self.repair_main(inc)
        elif inc.type in FLOOD_TYPES and self.flood is not None:
            yield from self.flood.work(inc)
        inc.t_control = env.now
        self.record(Record(env.now, "control", inc.scope, inc.id))
        assert inc.controlled is not None
        inc.controlled.succeed()

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
            self.roads.close(link)
            self.record(Record(env.now, "road_close", f"roads.link.{link}", inc.id, None, "main repair"))
        big = w.diameter_mm[j] >= rep.large_diameter_mm
        duration = draw(rep.large if big else rep.small, inc.extra["u_repair"])
        self.record(Record(env.now, "repair", inc.scope, inc.id, round(duration, 3)))
        yield env.timeout(duration)
        self.water.restore(j)
        self.service_changed(f"{inc.scope} restored")
        self.record(Record(env.now, "restore", inc.scope, inc.id))
        if link >= 0:
            self.roads.open(link)
            self.record(Record(env.now, "road_open", f"roads.link.{link}", inc.id))


def run(
    city: City,
    hazards: list[Hazard],
    calls: list[Call],
    policy: Policy,
    horizon_s: float,
    streams: Streams,
    scenario: ScenarioConfig | None = None,
    start_hour: float = 0.0,
) -> RunLog:
    """Simulate ``[0, horizon_s)`` and return the log (nothing is written here).

    ``scenario`` and ``start_hour`` (local hour of t = 0) matter only to the
    flood (:mod:`sim.flood_process`), which runs when the hazards hold rain.
    """
    log = RunLog(horizon_s=horizon_s)
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
    for unit in world.units:
        unit.node = unit.home
        unit.proc = env.process(serve(env, unit, world.dispatcher))
    incidents = world.make_incidents(calls, hazards)
    for inc in incidents:
        env.process(world.lifecycle(inc))
    if world.flood is not None:
        world.flood.next_id = len(incidents) + 1
        env.process(world.flood.run())
        if policy.cfg.early_warning.enabled:
            env.process(world.flood.early_warning())
    env.run(until=horizon_s)
    if world.flood is not None:
        incidents = incidents + world.flood.incidents
    for inc in incidents:
        if inc.t_close is None:
            inc.outcome = "open_at_end"
    log.events.append(Record(horizon_s, "horizon", "run", None, float(len(incidents))))
    log.incidents = incidents
    return log
