"""Lifelines as interdependent networks: the dependency graph, its fixed point, and the
cascade in the engine (power -> pumps, boosters, signals, elevators, hospitals)."""

from __future__ import annotations

import numpy as np
import pytest

from sim import engine
from sim.config import Config, ConfigError, DependencyRule, FaultSpec, ServiceTime, validate
from sim.lifelines import DependencyGraph, LifelineState, build_graph, elevators_in, propagate
from sim.runner import prepare


def chain() -> DependencyGraph:
    needs = {
        "power.feeder.F1": (("power.substation.S1", 0.0),),
        "power.feeder.F2": (("power.substation.S2", 0.0),),
        "water.pump.P1": (("power.feeder.F1", 0.0),),
        "roads.signals.Z1": (("power.feeder.F1", 0.0),),
        "hospital.H1": (("power.feeder.F1", 100.0),),
        "roads.signals.Z2": (("power.feeder.F2", 0.0),),
    }
    deps: dict[str, list[str]] = {}
    for c, sups in needs.items():
        for s, _ in sups:
            deps.setdefault(s, []).append(c)
    return DependencyGraph(needs, {k: tuple(sorted(v)) for k, v in deps.items()})


def test_fixed_point_follows_the_graph_and_keeps_causes() -> None:
    down = propagate({"power.substation.S1": "incident.1"}, chain(), {}, now=0.0)
    assert down == {
        "power.substation.S1": "incident.1",
        "power.feeder.F1": "power.substation.S1",
        "roads.signals.Z1": "power.feeder.F1",
        "water.pump.P1": "power.feeder.F1",
    }
    # Causes come before consequences.
    order = list(down)
    assert order.index("power.feeder.F1") < order.index("water.pump.P1")
    assert propagate({}, chain(), {}, now=0.0) == {}


def test_a_backup_delays_the_failure_and_a_repair_undoes_everything() -> None:
    st = LifelineState(chain())
    st.fail("power.substation.S1", "incident.1")
    first = st.update(0.0)
    assert [c.component for c in first if c.down] == [
        "power.substation.S1", "power.feeder.F1", "roads.signals.Z1", "water.pump.P1"]
    assert not st.is_down("hospital.H1") and st.pending_delays(0.0) == [100.0]
    assert st.update(99.0) == []
    late = st.update(100.0)
    assert [(c.component, c.cause) for c in late] == [("hospital.H1", "power.feeder.F1")]
    st.repair("power.substation.S1")
    ups = st.update(150.0)
    assert all(not c.down for c in ups) and {c.component for c in ups} == {
        "power.substation.S1", "power.feeder.F1", "roads.signals.Z1", "water.pump.P1", "hospital.H1"}
    assert ups[0].component == "power.substation.S1" and st.down == {} and st.since == {}


def test_elevators_per_block() -> None:
    assert elevators_in(120, 60) == 2 and elevators_in(30, 60) == 2 and elevators_in(200, 60) == 4


def cfg_outage(faults: list[tuple[str, float]], horizon_s: float = 6 * 3600.0, **lifelines: object) -> Config:
    cfg = Config()
    cfg.seed = 4
    cfg.run.horizon_s = horizon_s
    cfg.calls.enabled = False
    cfg.scenario.name = "power_outage"
    cfg.scenario.power_outage.faults = [FaultSpec(c, t) for c, t in faults]
    for k, v in lifelines.items():
        setattr(cfg.policy.lifelines, k, v)
    return cfg


def run(cfg: Config) -> tuple:
    p = prepare(cfg)
    return p, engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams)


@pytest.fixture(scope="module")
def outage() -> tuple:
    # The substation whose feeders power a booster pump station: the cascade reaches water.
    p0 = prepare(cfg_outage([]))
    city = p0.city
    zones_with_pump = {pump.zone for pump in city.water.pumps}
    sub = next(f.substation for f in city.power.feeders if f.zone in zones_with_pump)
    return (sub, *run(cfg_outage([(f"power.substation.{sub}", 3600.0)])))


def test_the_cascade_reaches_exactly_what_depends_on_the_substation(outage: tuple) -> None:
    sub, p, log = outage
    city = p.city
    zones = {f.zone for f in city.power.feeders if f.substation == sub}
    expected = {f"power.substation.{sub}"}
    expected |= {f"power.feeder.{f.id}" for f in city.power.feeders if f.substation == sub}
    expected |= {f"water.pump.{q.id}" for q in city.water.pumps if q.zone in zones}
    expected |= {f"roads.signals.{z}" for z in zones}
    for h in city.highrises:
        if h.zone in zones:
            expected |= {f"water.booster.{h.id}", f"elevators.{h.id}"}
    # Hospitals hold out on their generators (8 h) longer than this repair takes.
    downs = [r for r in log.events if r.kind == "lifeline_down"]
    assert {r.scope for r in downs} == expected
    assert all(r.t_s == 3600.0 for r in downs)
    ups = [r for r in log.events if r.kind == "lifeline_up"]
    assert {r.scope for r in ups} == expected
    restore = next(r.t_s for r in log.events if r.kind == "restore")
    assert all(r.t_s == restore for r in ups) and restore > 3600.0
    # Every consequence names its cause, and every cause went down no later.
    when = {r.scope: r.t_s for r in downs}
    for r in downs:
        cause = r.note.removeprefix("cause=")
        assert cause.startswith("incident.") or when[cause] <= r.t_s
        assert r.incident == downs[0].incident


def test_service_drops_inside_the_window_and_recovers(outage: tuple) -> None:
    sub, p, log = outage
    city = p.city
    restore = next(r.t_s for r in log.events if r.kind == "restore")
    power = [s for s in log.service if s.lifeline == "power"]
    dark = sum(f.customers for f in city.power.feeders if f.substation == sub)
    assert [(s.t_s, s.customers_out) for s in power] == [(0.0, 0), (3600.0, dark), (restore, 0)]
    water = [s for s in log.service if s.lifeline == "water"]
    cascade = [s for s in log.service if s.lifeline == "water.cascade"]
    assert [s.t_s for s in water] == [0.0, 3600.0, restore] and water[1].customers_out > 0
    # No main broke: every customer without water lost it through the cascade.
    assert [(s.t_s, s.customers_out) for s in cascade] == [(3600.0, water[1].customers_out), (restore, 0)]
    assert water[-1].customers_out == 0


def test_without_a_hazard_every_lifeline_stays_whole() -> None:
    cfg = cfg_outage([])
    cfg.scenario.name = "none"
    _, log = run(cfg)
    assert [(s.lifeline, s.served_fraction) for s in log.service] == [("water", 1.0), ("power", 1.0), ("gas", 1.0)]
    assert not [r for r in log.events if r.kind.startswith("lifeline")]


def test_a_rule_switched_off_leaves_its_dependents_alone(outage: tuple) -> None:
    sub = outage[0]
    rules = [DependencyRule("power.feeder", "power.substation", via="substation"),
             DependencyRule("roads.signals", "power.feeder", enabled=False),
             DependencyRule("water.pump", "power.feeder")]
    _, log = run(cfg_outage([(f"power.substation.{sub}", 3600.0)], dependencies=rules))
    scopes = {r.scope.rsplit(".", 1)[0] for r in log.events if r.kind == "lifeline_down"}
    assert scopes == {"power.substation", "power.feeder", "water.pump"}


def test_a_long_outage_exhausts_a_hospital_generator() -> None:
    p0 = prepare(cfg_outage([]))
    h = p0.city.facilities[0]
    feeder = next(f for f in p0.city.power.feeders if f.zone == h.zone)
    _, log = run(cfg_outage([(f"power.feeder.{feeder.id}", 600.0)], horizon_s=24 * 3600.0,
                            feeder_repair=ServiceTime(dist="fixed", median_s=12 * 3600.0)))
    down = [r for r in log.events if r.kind == "lifeline_down" and r.scope == f"hospital.{h.id}"]
    assert len(down) == 1 and down[0].note == f"cause=power.feeder.{feeder.id}"
    cut = next(r.t_s for r in log.events if r.kind == "lifeline_down" and r.scope == f"power.feeder.{feeder.id}")
    assert down[0].t_s == pytest.approx(cut + h.backup_h * 3600.0)


@pytest.mark.parametrize("order", ["critical", "customers"])
def test_restoration_order(order: str) -> None:
    p0 = prepare(cfg_outage([]))
    city = p0.city
    critical = {q.zone for q in city.water.pumps} | {f.zone for f in city.facilities}
    # The largest feeder without a critical load against the smallest with one.
    plain = max((f for f in city.power.feeders if f.zone not in critical), key=lambda f: f.customers)
    vital = min((f for f in city.power.feeders if f.zone in critical), key=lambda f: f.customers)
    assert plain.customers > vital.customers
    cfg = cfg_outage([(f"power.feeder.{plain.id}", 600.0), (f"power.feeder.{vital.id}", 600.0),
                      # a third fault first keeps the one crew busy while the other two queue
                      (f"power.feeder.{next(f.id for f in city.power.feeders if f not in (plain, vital))}",
                       300.0)], horizon_s=24 * 3600.0, restoration_order=order)
    cfg.city.power.crews_per_power_depot = 1
    _, log = run(cfg)
    repaired = [r.scope for r in log.events if r.kind == "repair"][1:]
    first = f"power.feeder.{vital.id}" if order == "critical" else f"power.feeder.{plain.id}"
    assert repaired[0] == first and len(repaired) == 2


@pytest.mark.parametrize("key, value, text", [
    ("dependencies", [DependencyRule("water.tank", "power.feeder")], "dependencies[0].dependent"),
    ("dependencies", [DependencyRule("water.pump", "power.feeder", via="substation")], "dependencies[0].via"),
    ("restoration_order", "random", "restoration_order"),
    ("p_occupied", 1.5, "p_occupied"),
])
def test_bad_lifeline_settings_name_the_key(key: str, value: object, text: str) -> None:
    cfg = cfg_outage([])
    setattr(cfg.policy.lifelines, key, value)
    with pytest.raises(ConfigError, match=text.replace("[", r"\[").replace("]", r"\]")):
        validate(cfg)


def test_a_fault_on_a_missing_component_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"faults\[0\]\.component"):
        prepare(cfg_outage([("power.substation.S99", 60.0)]))


def test_graph_of_the_district_is_consistent() -> None:
    p = prepare(cfg_outage([]))
    g = build_graph(p.city, p.policy.cfg.lifelines.dependencies)
    for comp, sups in g.needs.items():
        for s, _ in sups:
            assert comp in g.dependents[s]
    assert len([c for c in g.needs if c.startswith("elevators.")]) == len(p.city.highrises)


def _dispatches(log, kind: str = "power_crew") -> list[tuple[float, int]]:
    return [(r.t_s, r.incident) for r in log.events
            if r.kind in ("dispatch", "retask") and r.scope.startswith(f"units.{kind}.")]


def test_night_crews_on_a_duty_roster() -> None:
    from sim.config import ShiftConfig

    p0 = prepare(cfg_outage([]))
    f1, f2 = p0.city.power.feeders[0], p0.city.power.feeders[1]
    faults = [(f"power.feeder.{f1.id}", 600.0), (f"power.feeder.{f2.id}", 660.0)]
    # The run starts at 06:00: night until 08:00. Round the clock, both go at once.
    _, log = run(cfg_outage(faults))
    times = [t for t, _ in _dispatches(log)]
    assert len(times) == 2 and max(times) < 1000.0
    cfg = cfg_outage(faults)
    cfg.policy.shifts = {"power_crew": ShiftConfig(day_start_h=8.0, day_end_h=20.0, night_share=0.0)}
    _, log = run(cfg)
    # Nobody on duty at night: both repairs wait for the day shift at 08:00 (t = 7200 s).
    assert [t for t, _ in _dispatches(log)] == [7200.0, 7200.0]
    cfg.policy.shifts = {"power_crew": ShiftConfig(day_start_h=8.0, day_end_h=20.0, night_share=0.01)}
    _, log = run(cfg)
    # One standby crew at night takes the first fault; the second waits for it to clear or
    # for the day shift, whichever comes first.
    times = [t for t, _ in _dispatches(log)]
    first_clear = min(r.t_s for r in log.events if r.kind == "clear" and r.scope.startswith("units.power_crew."))
    assert len(times) == 2 and times[0] < 1000.0 and times[1] == min(first_clear, 7200.0)


def test_nearest_restoration_repairs_the_nearer_feeder_first() -> None:
    p0 = prepare(cfg_outage([], restoration_order="nearest"))
    city = p0.city
    depots = [s.node for s in city.stations if s.kind == "power_depot"]
    free = engine._World(city, p0.policy, p0.streams, engine.RunLog()).roads.free_flow_from(depots)
    node_of = {z.id: z.node for z in city.zones}
    feeders = sorted(city.power.feeders, key=lambda f: free[node_of[f.zone]])
    near, far, busy = feeders[0], feeders[-1], feeders[len(feeders) // 2]
    assert free[node_of[near.zone]] < free[node_of[far.zone]]
    cfg = cfg_outage([(f"power.feeder.{busy.id}", 300.0), (f"power.feeder.{far.id}", 600.0),
                      (f"power.feeder.{near.id}", 600.0)], horizon_s=24 * 3600.0, restoration_order="nearest")
    cfg.city.power.n_power_depots = 1
    cfg.city.power.crews_per_power_depot = 1
    _, log = run(cfg)
    repaired = [r.scope for r in log.events if r.kind == "repair"]
    assert repaired == [f"power.feeder.{busy.id}", f"power.feeder.{near.id}", f"power.feeder.{far.id}"]


def test_nearest_restoration_is_not_reordered_by_a_closure_at_the_fault() -> None:
    """A site cut off when it faults (the water that tripped it) keeps its place in the plan."""
    from sim.dispatch import Incident

    p = prepare(cfg_outage([], restoration_order="nearest"))
    world = engine._World(p.city, p.policy, p.streams, engine.RunLog())
    sub = p.city.power.substations[0]

    def key() -> float:
        inc = Incident(id=1, type="substation_fault", severity=2, source="test", scope="x", node=sub.node,
                       zone="", t_occur=0.0, rng=np.random.default_rng(0),
                       extra={"component": f"power.substation.{sub.id}"})
        return world.restoration_priority(inc)

    roads = p.city.roads
    open_key = key()
    around = np.flatnonzero((roads.u == sub.node) | (roads.v == sub.node))
    assert len(around) and 0.0 < open_key < np.inf
    world._depot_free = None  # the plan is asked again, now with the site cut off
    for link in around:
        world.roads.set_cause("flood", int(link), float("inf"))
    depot = next(s.node for s in p.city.stations if s.kind == "power_depot")
    assert np.isinf(world.roads.time(depot, sub.node))
    assert key() == open_key
