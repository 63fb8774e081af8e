"""Units, incidents and the dispatch centre.

The dispatch centre sends the capable unit with the earliest expected arrival
(turnout if it leaves quarters, plus the *current* travel time), queues a
request when none is free (priority: severity, then report time), and re-tasks
a unit that is driving back to quarters by interrupting its return
(``Process.interrupt``): units clear at the scene and are available on the
radio while they return.

Each unit is one long-lived SimPy process (:func:`serve`): idle in quarters it
waits on its own wake-up event, never on a shared one.

At city scale a request must not walk every unit in Python: the dispatcher
keeps, per unit kind, arrays of home nodes and turnout times and a mask of
the units idle in quarters, so the earliest idle arrival is one vectorised
look-up in the scene's travel-time table; only the (few) units driving back
to quarters are placed one by one. Ties go to the unit listed first, as a
plain scan would.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Collection, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy

from sim.city import UnitSpec
from sim.log import Record
from sim.roads import RoadState, position_on

__all__ = ["Dispatcher", "Incident", "Unit", "serve"]


@dataclass(eq=False)
class Incident:
    id: int
    type: str
    severity: int
    source: str
    scope: str
    node: int
    zone: str
    t_occur: float
    rng: np.random.Generator
    t_report: float | None = None
    t_ready: float | None = None  # call processed: units may be sent
    t_dispatch: float | None = None
    t_enroute: float | None = None
    t_unit_dispatch: float | None = None  # assignment time of the first-arriving unit
    t_arrival: float | None = None
    t_control: float | None = None
    t_close: float | None = None
    first_unit: str = ""
    n_units: int = 0
    # The run card still to arrive (kind -> units): when it empties, the initial full alarm
    # assignment is on scene (NFPA 1710's effective response force), by whichever units.
    card_left: dict[str, int] = field(default_factory=dict)
    t_full_alarm: float | None = None  # the run card's last unit on scene
    full_alarm_travel: float = 0.0  # the longest travel of the units that made up the card
    assigned: int = 0
    cleared: int = 0
    pending: int = 0  # requests waiting in a queue
    outcome: str = ""
    controlled: simpy.Event | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def scope_id(self) -> str:
        return f"incident.{self.id}"


@dataclass(eq=False)
class Unit:
    spec: UnitSpec
    home: int  # station node
    turnout_s: float
    node: int = -1
    status: str = "idle"  # idle | busy | returning
    wake: simpy.Event | None = None
    proc: simpy.Process | None = None
    # Driving back to quarters: the route taken (nodes, time left at each; see RoadState.route) and
    # when it left; a closure later does not move a vehicle already on its way.
    ret_route: tuple[np.ndarray, np.ndarray] | None = None
    ret_t0: float = 0.0
    index: int = -1  # position in the dispatcher's pool of its kind

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def scope(self) -> str:
        return self.spec.scope


class Dispatcher:
    """Finds units for requests; owns the per-kind priority queues."""

    def __init__(
        self,
        env: simpy.Environment,
        roads: RoadState,
        units: list[Unit],
        log: Callable[[Record], None],
        retask_returning: bool = True,
    ) -> None:
        self.env = env
        self.roads = roads
        # Kinds that drive on a road state of their own (a flood closes roads to ambulances first).
        self._roads_of: dict[str, RoadState] = {}
        self.log = log
        self.retask = retask_returning
        self.search_s = 600.0  # first search radius of a kind's nearest-unit search, until it has a history
        # Travel times of the last answers per kind: the first radius is their 90th percentile (see nearest).
        self._recent: dict[str, list[float]] = {}
        self.by_kind: dict[str, list[Unit]] = {}
        for u in units:
            self.by_kind.setdefault(u.kind, []).append(u)
        self._home: dict[str, np.ndarray] = {}
        self._turnout: dict[str, np.ndarray] = {}
        self._idle: dict[str, np.ndarray] = {}
        self._returning: dict[str, dict[int, Unit]] = {}
        for kind in self.by_kind:
            self._index(kind)
        self.queues: dict[str, list[tuple[int, float, float, int, Incident]]] = {}
        # Requests for a kind the city has no unit of, by (incident type, kind): a run card's
        # full alarm is then never reached (said in summary.json's warnings).
        self.lacking: dict[tuple[str, str], int] = {}
        self._seq = itertools.count()
        self.on_arrive: Callable[[Unit, Incident, float, float], None] = lambda u, i, t, a: None
        self.on_clear: Callable[[Unit, Incident], None] = lambda u, i: None
        # Duty rosters: a unit off duty is not sent (it finishes the job in hand).
        self.on_duty: Callable[[Unit], bool] = lambda u: True
        self.rostered = False

    # ------------------------------------------------------------- helpers
    def roads_for(self, kind: str) -> RoadState:
        """The road state units of ``kind`` drive on."""
        return self._roads_of.get(kind, self.roads)

    def use_roads(self, kinds: Sequence[str], roads: RoadState) -> None:
        """Units of ``kinds`` drive on ``roads`` from now on (set before any of them moves)."""
        for kind in kinds:
            self._roads_of[kind] = roads

    def _index(self, kind: str) -> None:
        pool = self.by_kind[kind]
        for i, u in enumerate(pool):
            u.index = i
        self._home[kind] = np.array([u.home for u in pool], dtype=np.int64)
        self._turnout[kind] = np.array([u.turnout_s for u in pool], dtype=float)
        self._idle[kind] = np.array([u.status == "idle" for u in pool], dtype=bool)
        self._returning[kind] = {u.index: u for u in pool if u.status == "returning"}

    def add_units(self, units: list[Unit]) -> None:
        """Units that join after the start (a scenario's own, e.g. pump trucks)."""
        kinds = []
        for u in units:
            self.by_kind.setdefault(u.kind, []).append(u)
            kinds.append(u.kind)
        for kind in sorted(set(kinds)):
            self._index(kind)

    def set_status(self, unit: Unit, status: str) -> None:
        """Change a unit's status (idle | busy | returning) and the availability index."""
        unit.status = status
        if unit.index < 0:  # a unit the dispatcher was not given
            return
        self._idle[unit.kind][unit.index] = status == "idle"
        ret = self._returning[unit.kind]
        if status == "returning":
            ret[unit.index] = unit
        else:
            ret.pop(unit.index, None)

    def where(self, unit: Unit) -> int:
        """The unit's node now (a returning unit is placed along the route it took)."""
        if unit.status == "returning" and unit.ret_route is not None:
            return position_on(unit.ret_route, unit.node, self.env.now - unit.ret_t0)
        return unit.node

    def eta(self, unit: Unit, times_to_scene: np.ndarray) -> float:
        if unit.status == "idle":
            return unit.turnout_s + float(times_to_scene[unit.node])
        if unit.status == "returning" and self.retask:
            return float(times_to_scene[self.where(unit)])
        return float("inf")

    # ------------------------------------------------------------ requests
    def request(self, inc: Incident, kind: str) -> bool:
        """Send the best unit of ``kind`` to ``inc`` or queue the request.

        Returns False when the city has no unit of that kind at all.
        """
        pool = self.by_kind.get(kind, [])
        if not pool:
            self.lacking[(inc.type, kind)] = self.lacking.get((inc.type, kind), 0) + 1
            return False
        best, best_eta = self.nearest(pool, inc.node)
        if best is None:
            q = self.queues.setdefault(kind, [])
            # Severity first; then a utility's restoration order (extra["priority"], lower first; 0 for
            # everything else); then the time the call was ready.
            heapq.heappush(q, (inc.severity, float(inc.extra.get("priority", 0.0)), inc.t_ready or self.env.now,
                               next(self._seq), inc))
            inc.pending += 1
            self.log(Record(self.env.now, "queue", f"units.{kind}", inc.id, float(len(q))))
        else:
            self.assign(best, inc)
        return True

    def nearest(self, pool: list[Unit], node: int, idle_only: bool = False) -> tuple[Unit | None, float]:
        """The unit of ``pool`` with the earliest expected arrival at ``node``.

        Searches outward from the scene with a distance-limited Dijkstra,
        widening the radius (x2) until the best unit found is sure to beat
        every unit not yet seen: one beyond the radius needs more than the
        radius to drive, plus its turnout if it leaves quarters. The answer
        is exact whatever the radius, so the radius only sets the cost: a
        kind's first radius is the 90th percentile of its last 64 answers'
        travel times (``search_s`` until it has 16), and a search from the
        scene already cached is tried first.
        """
        if not pool:
            return None, float("inf")
        kind = pool[0].kind
        if pool is not self.by_kind.get(kind):  # not a pool this dispatcher indexes
            return self._scan(pool, node)
        idle = np.flatnonzero(self._idle[kind])
        returning = sorted(self._returning[kind].items()) if self.retask and not idle_only else []
        if self.rostered:  # duty rosters: only units on duty are sent
            idle = np.array([i for i in idle if self.on_duty(pool[int(i)])], dtype=np.int64)
            returning = [(i, u) for i, u in returning if self.on_duty(u)]
        if not len(idle) and not returning:
            return None, float("inf")  # nobody to send: no search (the request queues)
        home, turnout = self._home[kind][idle], self._turnout[kind][idle]
        # An unseen unit needs more than the radius plus this to arrive.
        slack = float(turnout.min()) if len(idle) and not returning else 0.0
        recent = self._recent.setdefault(kind, [])
        first = max(sorted(recent)[(9 * len(recent)) // 10], 30.0) if len(recent) >= 16 else self.search_s
        # A search from the scene already held costs nothing: tried first (a full one answers at once).
        roads = self.roads_for(kind)
        cached = roads.cached_radius(node)
        limit: float | None = None if cached == float("inf") else cached if cached > 0 else first
        while True:
            # Any time found is exact; nodes beyond the limit may read inf.
            times = roads.times_to(node) if limit is None else roads.times_near(node, limit)
            best, best_eta, best_i = None, float("inf"), len(pool)
            if len(idle):
                etas = turnout + times[home]
                k = int(np.argmin(etas))
                if etas[k] < best_eta:
                    best, best_eta, best_i = pool[int(idle[k])], float(etas[k]), int(idle[k])
            for i, u in returning:
                e = float(times[self.where(u)])
                if e < best_eta or (e == best_eta and i < best_i and e < float("inf")):
                    best, best_eta, best_i = u, e, i
            if limit is None or (best is not None and (best_eta <= limit or best_eta < limit + slack)):
                if best is not None:
                    travel = best_eta - (best.turnout_s if best.status == "idle" else 0.0)
                    recent.append(travel)
                    if len(recent) > 64:
                        del recent[0]
                return best, best_eta
            if limit < first:  # the cached search was not enough
                limit = first
            else:
                limit = limit * 2 if limit < 8 * 3600.0 else None

    def _scan(self, pool: list[Unit], node: int) -> tuple[Unit | None, float]:
        """The earliest arrival by a plain scan of ``pool`` (a full table)."""
        tables: dict[int, np.ndarray] = {}  # by road state: the pool may mix kinds
        best, best_eta = None, float("inf")
        for u in pool:
            roads = self.roads_for(u.kind)
            times = tables.get(id(roads))
            if times is None:
                times = tables[id(roads)] = roads.times_to(node)
            e = self.eta(u, times)
            if e < best_eta:
                best, best_eta = u, e
        return best, best_eta

    def assign(self, unit: Unit, inc: Incident) -> None:
        inc.assigned += 1
        if inc.t_dispatch is None:
            inc.t_dispatch = self.env.now
        if unit.status == "idle":
            self.set_status(unit, "busy")
            assert unit.wake is not None
            unit.wake.succeed(inc)
        elif unit.status == "returning":
            unit.node = self.where(unit)
            self.set_status(unit, "busy")
            assert unit.proc is not None
            unit.proc.interrupt(inc)
        else:  # pragma: no cover - guarded by eta()
            raise RuntimeError(f"{unit.scope} is busy")

    def next_for(self, unit: Unit) -> Incident | None:
        """Pop the most urgent queued request this unit can reach, if any."""
        q = self.queues.get(unit.kind)
        if not q or not self.on_duty(unit):
            return None
        skipped = []
        found = None
        while q:
            item = heapq.heappop(q)
            inc = item[-1]
            if inc.t_control is not None:  # work done meanwhile: drop the request
                inc.pending -= 1
                continue
            if np.isfinite(self.roads_for(unit.kind).time(unit.node, inc.node)):
                found = inc
                inc.pending -= 1
                break
            skipped.append(item)
        for item in skipped:
            heapq.heappush(q, item)
        if found is not None:
            found.assigned += 1
            if found.t_dispatch is None:
                found.t_dispatch = self.env.now
        return found

    def offer_queued(self, kinds: Collection[str] | None = None) -> None:
        """Offer the queued requests again, most urgent first, to the units free now.

        A closed road that reopens may bring a scene nobody could reach back in
        reach while its units sit idle (a queued request is otherwise taken only
        by a unit that clears a job or gets back to quarters). Each goes to the
        idle unit :meth:`nearest` picks; the others stay queued. Units driving
        back are left out: placing each on its route costs a search per unit at
        every reopening, and they look at the queue when they reach quarters.
        ``kinds``: only these kinds' queues (the ones whose road state changed).
        """
        for kind in sorted(self.queues if kinds is None else set(self.queues) & set(kinds)):
            q, pool = self.queues[kind], self.by_kind.get(kind, [])
            kept = []
            while q and self._idle[kind].any():
                item = heapq.heappop(q)
                inc = item[-1]
                if inc.t_control is not None:  # work done meanwhile: drop the request
                    inc.pending -= 1
                    continue
                best, _ = self.nearest(pool, inc.node, idle_only=True)
                if best is None:
                    kept.append(item)
                    continue
                inc.pending -= 1
                self.assign(best, inc)
            for item in kept:
                heapq.heappush(q, item)

    def waiting(self) -> list[Incident]:
        return [item[-1] for q in self.queues.values() for item in q]


def serve(env: simpy.Environment, unit: Unit, d: Dispatcher) -> Generator[simpy.Event, Any, None]:
    """A unit's life: wait in quarters, respond, clear, return or be re-tasked."""
    log = d.log
    while True:
        d.set_status(unit, "idle")
        unit.node = unit.home
        unit.wake = env.event()
        inc: Incident | None = yield unit.wake
        turnout = True
        while inc is not None:
            d.set_status(unit, "busy")
            t_assigned = env.now
            travel = d.roads_for(unit.kind).time(unit.node, inc.node)
            log(Record(env.now, "dispatch" if turnout else "retask", unit.scope, inc.id, round(travel, 3)))
            if turnout and unit.turnout_s > 0:
                yield env.timeout(unit.turnout_s)
            # Turnout ends here, when the crew is ready to roll (NFPA 1710's segments).
            t_enroute = env.now
            log(Record(env.now, "enroute", unit.scope, inc.id))
            # A closure (a flooded road) may have cut the scene off: the unit waits where it
            # is and looks again each minute until a route opens; the wait counts as travel.
            while not np.isfinite(d.roads_for(unit.kind).time(unit.node, inc.node)):
                yield env.timeout(60.0)
            # Travel time at the road state of departure; a closure later
            # does not reroute a vehicle already on its way.
            travel = d.roads_for(unit.kind).time(unit.node, inc.node)
            if travel > 0:
                yield env.timeout(travel)
            unit.node = inc.node
            log(Record(env.now, "arrive", unit.scope, inc.id, round(env.now - t_enroute, 3)))
            d.on_arrive(unit, inc, t_enroute, t_assigned)
            assert inc.controlled is not None
            if not inc.controlled.processed:
                yield inc.controlled
            log(Record(env.now, "clear", unit.scope, inc.id))
            d.on_clear(unit, inc)
            inc = d.next_for(unit)
            turnout = False
            if inc is not None:
                continue
            # Drive back to quarters; available for re-tasking on the way.
            d.set_status(unit, "returning")
            roads = d.roads_for(unit.kind)
            if d.retask:  # where() places it along this route if a call comes meanwhile
                unit.ret_route, unit.ret_t0 = roads.route(unit.node, unit.home), env.now
                back = float(unit.ret_route[1][0]) if len(unit.ret_route[0]) else float("inf")
            else:
                back = roads.time(unit.node, unit.home)
            try:
                if back > 0:
                    yield env.timeout(back if np.isfinite(back) else 0.0)
            except simpy.Interrupt as intr:
                inc = intr.cause
                continue
            unit.node = unit.home
            d.set_status(unit, "idle")
            log(Record(env.now, "in_quarters", unit.scope))
            inc = d.next_for(unit)
            turnout = True
