"""High-rise e-bike fires in the engine: small hooks around :mod:`sim.fire`.

The engine calls these from ``make_incident`` (a ``fire.ebike`` hazard
becomes a ``highrise_fire`` incident at the building's road node), from
``lifecycle`` (:func:`ignite`: the fire's draws, its detection and call
delay), from ``work`` (:func:`attack`: second alarm, set-up, first water
with the building's pressure or a relay) and at the horizon
(:func:`finalize`). Physics and evacuation live in :mod:`sim.fire`.

Each fire draws six uniforms from its incident's own stream at ignition, in
a fixed order whatever the policy, so a policy change moves nothing else.

Events written (see ``sim.log.EVENT_KINDS``): ``ignite``, ``detect``,
``untenable`` (one per floor), ``second_alarm``, ``first_water``,
``exposed`` and ``casualties``.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import Any

import simpy

from scenarios.base import Hazard
from sim.city import City
from sim.dispatch import Incident
from sim.fire import FireSetup, draw_setup, first_water_after, outcome, untenable_times
from sim.log import Record

__all__ = ["STREET_TEAM", "attack", "finalize", "ignite", "node_of"]

#: Scope of the street-level first-response team (``street_stations``).
STREET_TEAM = "units.street_team"


def node_of(city: City, hazard: Hazard) -> int:
    """Road node of the burning building."""
    for b in city.highrises:
        if b.id == hazard.params["building"]:
            return int(b.node)
    raise KeyError(f"{hazard.id}: no high-rise {hazard.params['building']!r} in the city")


def _water_node(world: Any, inc: Incident) -> int:
    """The water node feeding the building: its own node if a main reaches it, else its zone's."""
    if world.water.node_seg[inc.node] >= 0:
        return int(inc.node)
    for z in world.city.zones:
        if z.id == inc.zone:
            return int(z.water_node)
    return int(inc.node)


def ignite(world: Any, inc: Incident) -> float:
    """At ignition: draw the fire, log it, start the smoke process; returns the delay to the call."""
    pol = world.policy.cfg
    h: Hazard = inc.extra["hazard"]
    fu = inc.rng.random(6)
    iv = pol.interventions
    s = draw_setup(
        pol.fire, floors=int(h.params["floors"]), households=int(h.params["households"]),
        location=str(h.params["location"]), floor=int(h.params["floor"]), shaft=bool(h.params["shaft"]),
        hour=float(h.params["hour"]), u=fu, sprinklers=iv.sprinklers, alarm_maintenance=iv.alarm_maintenance,
        pressure_monitoring=iv.pressure_monitoring, alarm_works=h.params.get("alarm_works"),
        report_after_s=h.params.get("report_after_s"),
    )
    inc.extra["fire"] = s
    inc.extra["t_water"] = None
    world.record(Record(world.env.now, "ignite", inc.scope, inc.id, float(s.floor),
                        f"location={s.location}; route={s.route}; modified={h.params.get('modified', False)}"))
    world.env.process(_spread(world, inc, s))
    if iv.street_stations:
        world.env.process(_street_team(world, inc, s))
    return s.t_report_s


def _spread(world: Any, inc: Incident, s: FireSetup) -> Generator[simpy.Event, Any, None]:
    env, r = world.env, world.policy.cfg.fire
    t0 = inc.t_occur
    how = "smoke alarm" if s.alarm_works else "discovered (no working alarm)"
    marks = [(s.t_detect_s, 0, "detect")]
    unt = untenable_times(s, r)
    marks += [(float(t), f, "untenable") for f, t in enumerate(unt, start=1) if math.isfinite(t)]
    for t_rel, f, kind in sorted(marks):
        if t0 + t_rel > env.now:
            yield env.timeout(t0 + t_rel - env.now)
        if kind == "detect":
            world.record(Record(env.now, "detect", inc.scope, inc.id, round(t_rel, 3), how))
            continue
        tw = inc.extra.get("t_water")
        if tw is not None and t_rel > tw - t0 + r.knockdown_s:
            continue  # knocked down before the smoke got here
        world.record(Record(env.now, "untenable", f"{inc.scope}.floor.{f}", inc.id, float(f), s.route))


def _pressure(world: Any, inc: Incident, s: FireSetup) -> bool:
    """The building has fire-water pressure: its main is live, its pressure zone's pump
    and its own boosters have power (the lifelines cascade), and its system is not dry."""
    node = _water_node(world, inc)
    if s.no_water or not bool(world.water.served_nodes()[node]):
        return False
    if any(node in set(nodes.tolist()) for nodes in world.water.lifted_lost.values()):
        return False
    building = inc.extra["hazard"].params.get("building") if "hazard" in inc.extra else None
    return not (building and world.lifelines.is_down(f"water.booster.{building}"))


def _first_water(world: Any, inc: Incident, scope: str, pressure: bool) -> None:
    if inc.extra.get("t_water") is not None:
        return
    env = world.env
    s: FireSetup = inc.extra["fire"]
    inc.extra["t_water"] = env.now
    how = "building fire-water pressure" if pressure else "relay pumping (no pressure)"
    world.record(Record(env.now, "first_water", scope, inc.id, round(env.now - inc.t_occur, 3), how))
    _record_outcome(world, inc, s, env.now - inc.t_occur)


def _record_outcome(world: Any, inc: Incident, s: FireSetup, t_water_rel: float) -> None:
    out = outcome(s, world.policy.cfg.fire, t_water_rel)
    inc.extra["outcome"] = out
    now = world.env.now
    world.record(Record(now, "exposed", inc.scope, inc.id, round(out.exposed, 4),
                        f"occupants={out.occupants:.1f}; floors_untenable={out.floors_untenable}"))
    world.record(Record(now, "casualties", inc.scope, inc.id, round(out.casualties, 4), "expected"))


def _street_team(world: Any, inc: Incident, s: FireSetup) -> Generator[simpy.Event, Any, None]:
    """A street-level station's small team: arrives after the call, needs the building's pressure."""
    env, r = world.env, world.policy.cfg.fire
    yield env.timeout(inc.t_occur + s.t_report_s + r.street_response_s + r.street_setup_s - env.now)
    if _pressure(world, inc, s):
        _first_water(world, inc, STREET_TEAM, True)


def attack(world: Any, inc: Incident) -> Generator[simpy.Event, Any, None]:
    """From first arrival: second alarm by rule, set-up, first water (relay if no pressure)."""
    env, r = world.env, world.policy.cfg.fire
    s: FireSetup = inc.extra["fire"]
    unt = untenable_times(s, r, math.inf if inc.extra["t_water"] is None else inc.extra["t_water"] - inc.t_occur)
    n_now = int((unt <= env.now - inc.t_occur).sum())
    pressure = _pressure(world, inc, s)
    if n_now >= r.second_alarm_floors or not pressure:
        world.record(Record(env.now, "second_alarm", inc.scope, inc.id, float(n_now),
                            "floors untenable" if pressure else "no water pressure"))
        for kind in sorted(r.second_alarm):
            for _ in range(r.second_alarm[kind]):
                world.dispatcher.request(inc, kind)
    t_water = first_water_after(env.now, r, pressure)
    if t_water > env.now:
        yield env.timeout(t_water - env.now)
    _first_water(world, inc, inc.first_unit, pressure)


def settled(inc: Incident) -> bool:
    """Whether :func:`finalize` has nothing left to do for ``inc`` (its row and records are final)."""
    return not (inc.type == "highrise_fire" and "fire" in inc.extra and "outcome" not in inc.extra)


def finalize(world: Any, incidents: list[Incident], horizon_s: float) -> None:
    """Fires with no water by the horizon: exposure runs to the horizon."""
    for inc in incidents:
        if not settled(inc):
            _record_outcome(world, inc, inc.extra["fire"], horizon_s - inc.t_occur)
