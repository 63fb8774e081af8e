"""Interdependent lifelines: the dependency graph and its cascades.

Components are named by scope: ``power.substation.S1``, ``power.feeder.FZ03``,
``water.pump.PS2``, ``water.booster.HR0042``, ``roads.signals.Z03``,
``elevators.HR0042``, ``hospital.H1``. The graph comes from the city and the
rules in ``policy.lifelines.dependencies`` (config): each rule says that every
component of one class needs the supplier of another class that it shares a
zone with (or, for a feeder, its own substation).

:func:`propagate` computes the fixed point: a component is down when it has
failed itself (a hazard) or when a supplier it needs has been down for at
least the rule's delay. Each consequence keeps its cause (the supplier), so
the report can draw the tree of which failure caused which. Pure: no SimPy;
the engine calls :meth:`LifelineState.update` whenever a component changes
state, and again when a delayed dependency (a hospital's generator fuel)
comes due.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from sim.city import City
from sim.config import DependencyRule

__all__ = ["Change", "DependencyGraph", "LifelineState", "build_graph", "elevators_in", "propagate", "zone_links"]


@dataclass(frozen=True)
class DependencyGraph:
    """``needs[c]``: the suppliers ``c`` depends on, each with the delay (s) it tolerates."""

    needs: dict[str, tuple[tuple[str, float], ...]]
    dependents: dict[str, tuple[str, ...]]  # supplier -> components that need it (sorted)


def build_graph(city: City, rules: Iterable[DependencyRule]) -> DependencyGraph:
    """The city's component graph under ``rules`` (disabled rules are left out)."""
    needs: dict[str, list[tuple[str, float]]] = {}
    grid = city.power
    if grid is None:
        return DependencyGraph({}, {})
    feeder_of = {f.zone: f"power.feeder.{f.id}" for f in grid.feeders}
    substation_of: dict[str, str] = {}  # feeder component -> its substation (the first feeder of an id wins)
    for f in grid.feeders:
        substation_of.setdefault(f"power.feeder.{f.id}", f.substation)
    members: dict[str, list[tuple[str, str, float]]] = {  # class -> (component, zone, backup s)
        "water.pump": [(f"water.pump.{p.id}", p.zone, 0.0) for p in city.water.pumps],
        "water.booster": [(f"water.booster.{h.id}", h.zone, 0.0) for h in city.highrises],
        "roads.signals": [(f"roads.signals.{z.id}", z.id, 0.0) for z in city.zones],
        "elevators": [(f"elevators.{h.id}", h.zone, 0.0) for h in city.highrises],
        "hospital": [(f"hospital.{f.id}", f.zone, f.backup_h * 3600.0) for f in city.facilities
                     if f.kind == "hospital"],
    }
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.dependent == "power.feeder":
            for f in grid.feeders:
                needs.setdefault(f"power.feeder.{f.id}", []).append((f"power.substation.{f.substation}",
                                                                      rule.delay_s))
            continue
        for comp, zone, backup in members.get(rule.dependent, []):
            supplier = feeder_of.get(zone)
            if supplier is None:
                continue
            if rule.needs == "power.substation":
                supplier = f"power.substation.{substation_of[supplier]}"
            needs.setdefault(comp, []).append((supplier, backup if rule.use_backup else rule.delay_s))
    dependents: dict[str, list[str]] = {}
    for comp, sups in needs.items():
        for sup, _ in sups:
            dependents.setdefault(sup, []).append(comp)
    return DependencyGraph({k: tuple(v) for k, v in needs.items()},
                           {k: tuple(sorted(v)) for k, v in dependents.items()})


def propagate(direct: Mapping[str, str], graph: DependencyGraph, since: Mapping[str, float],
              now: float) -> dict[str, str]:
    """The fixed point of failures: component -> cause.

    ``direct`` holds the components that failed themselves, with their own
    cause (an incident); ``since[c]`` is when ``c`` went down (components
    that go down now need no entry). A dependent goes down when a supplier it
    needs is down and has been for at least the dependency's delay; its cause
    is that supplier (the first in its list, for a deterministic tree).
    Dependencies only ever widen the set, so a breadth-first closure from
    the direct failures reaches the fixed point.
    """
    down: dict[str, str] = dict(sorted(direct.items()))
    frontier = sorted(down)
    while frontier:
        nxt: list[str] = []
        for sup in frontier:
            for comp in graph.dependents.get(sup, ()):
                if comp in down:
                    continue
                for s, delay in graph.needs[comp]:
                    if s in down and (delay <= 0 or now - since.get(s, now) >= delay - 1e-9):
                        down[comp] = s
                        nxt.append(comp)
                        break
        frontier = sorted(nxt)
    return down


def elevators_in(households: int, per_elevator: int) -> int:
    """Elevators of a residential block: one per ``per_elevator`` households,
    at least two (GB 50096-2011 6.4.1 for 12+ floors)."""
    return max(2, math.ceil(households / max(per_elevator, 1)))


@dataclass(frozen=True)
class Change:
    component: str
    down: bool
    cause: str  # the supplier (a cascade) or the direct cause (an incident)


@dataclass
class LifelineState:
    """Which components are down, since when, and why."""

    graph: DependencyGraph
    direct: dict[str, str] = field(default_factory=dict)
    down: dict[str, str] = field(default_factory=dict)
    since: dict[str, float] = field(default_factory=dict)

    def fail(self, component: str, cause: str) -> None:
        self.direct[component] = cause

    def repair(self, component: str) -> None:
        self.direct.pop(component, None)

    def pending_delays(self, now: float) -> list[float]:
        """Times at which a delayed dependency of a component still up comes due."""
        due = []
        for comp, sups in self.graph.needs.items():
            if comp in self.down:
                continue
            for s, delay in sups:
                if delay > 0 and s in self.down:
                    t = self.since.get(s, now) + delay
                    if t > now:
                        due.append(t)
        return sorted(set(due))

    def update(self, now: float) -> list[Change]:
        """Recompute the fixed point; return what changed: ups, then downs, each in cascade order
        (a supplier before what depends on it, so a consequence follows its cause)."""
        new = propagate(self.direct, self.graph, self.since, now)
        ups = [Change(c, False, self.down[c]) for c in self.down if c not in new]
        downs = [Change(c, True, new[c]) for c in new if c not in self.down]
        for ch in ups:
            self.since.pop(ch.component, None)
        for ch in downs:
            self.since[ch.component] = now
        self.down = new
        return ups + downs

    def is_down(self, component: str) -> bool:
        return component in self.down


def zone_links(u: np.ndarray, v: np.ndarray, node_zone: np.ndarray, zone_index: int) -> np.ndarray:
    """Links with both ends in the zone (their intersections' signals are the zone's)."""
    return np.nonzero((node_zone[u] == zone_index) & (node_zone[v] == zone_index))[0]
