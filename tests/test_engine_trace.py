"""Exact traces on hand-built three-node cities."""

from __future__ import annotations

from scenarios.background import Call
from scenarios.base import Hazard
from sim import engine
from sim.config import CityConfig, PolicyConfig, ServiceTime
from sim.policy import make_policy
from sim.rng import Streams
from tests.conftest import line_city


def fixed(s: float) -> ServiceTime:
    return ServiceTime(dist="fixed", median_s=s)


def policy(on_scene: float = 1000.0, processing: float = 60.0, turnout: float = 60.0) -> PolicyConfig:
    p = PolicyConfig()
    p.dispatch.call_processing = fixed(processing)
    p.dispatch.run_cards = {"fire": {"engine": 1}, "water_main_break": {"water_crew": 1}}
    p.dispatch.on_scene = {"fire": fixed(on_scene), "water_main_break": fixed(600.0)}
    p.detection.customer_calls = fixed(1200.0)
    p.detection.pressure_monitoring = fixed(120.0)
    p.repair.small = fixed(3600.0)
    p.repair.valve_fail_prob = 0.0
    return p


def city_cfg(turnout: float = 60.0) -> CityConfig:
    c = CityConfig()
    c.fire.turnout_s = turnout
    c.water.turnout_s = turnout
    return c


def trace(log: engine.RunLog) -> list[tuple[float, str, str]]:
    return [(round(r.t_s, 6), r.kind, r.scope) for r in log.events]


def test_single_fire_exact_trace() -> None:
    city = line_city()
    pol = make_policy(policy(), city_cfg())
    log = engine.run(city, [], [Call(100.0, "fire", 2)], pol, 5000.0, Streams(0))
    assert trace(log) == [
        (100.0, "occur", "roads.node.2"),
        (100.0, "report", "roads.node.2"),
        (160.0, "dispatch", "units.engine.FS1.E1"),
        (220.0, "enroute", "units.engine.FS1.E1"),
        (420.0, "arrive", "units.engine.FS1.E1"),
        (1420.0, "control", "roads.node.2"),
        (1420.0, "clear", "units.engine.FS1.E1"),
        (1420.0, "close", "roads.node.2"),
        (1620.0, "in_quarters", "units.engine.FS1.E1"),
        (5000.0, "horizon", "run"),
    ]
    inc = log.incidents[0]
    assert (inc.t_report, inc.t_dispatch, inc.t_enroute, inc.t_arrival) == (100.0, 160.0, 220.0, 420.0)
    assert inc.outcome == "resolved" and inc.first_unit == "units.engine.FS1.E1"


def test_second_call_queues_then_unit_is_sent_from_the_scene() -> None:
    city = line_city()
    pol = make_policy(policy(), city_cfg())
    calls = [Call(100.0, "fire", 2), Call(200.0, "fire", 1)]
    log = engine.run(city, [], calls, pol, 5000.0, Streams(0))
    t = trace(log)
    assert (260.0, "queue", "units.engine") in t
    # Cleared at node 2 at 1420, sent straight on (no turnout) to node 1: 100 s.
    assert (1420.0, "retask", "units.engine.FS1.E1") in t
    assert (1520.0, "arrive", "units.engine.FS1.E1") in t
    second = log.incidents[1]
    assert second.t_dispatch == 1420.0 and second.t_arrival == 1520.0
    assert second.t_dispatch - second.t_ready == 1160.0  # the queue wait


def test_returning_unit_is_retasked_by_interrupt() -> None:
    city = line_city(n=5)
    pol = make_policy(policy(on_scene=100.0), city_cfg())
    # Fire at node 4: arrive 60+60+400=520, control 620, returns towards node 0.
    # At 700 a call at node 3: ready at 760; unit is 140 s into its return, past node 3.
    log = engine.run(city, [], [Call(0.0, "fire", 4), Call(700.0, "fire", 3)], pol, 5000.0, Streams(0))
    t = trace(log)
    assert (760.0, "retask", "units.engine.FS1.E1") in t
    second = log.incidents[1]
    # The unit had passed node 3 at 720 (100 s), so it drives back from node 3: 0 s.
    assert second.t_arrival == 760.0


def test_burst_isolates_closes_road_and_restores() -> None:
    city = line_city(units=(("WD1", "water_crew", 0),), valves=((1, 1),))
    pol_cfg = policy()
    pol = make_policy(pol_cfg, city_cfg())
    h = Hazard("H1", 1000.0, "water.pipe_burst", "water.pipe.P2", {"pipe": "P2"})
    log = engine.run(city, [h], [], pol, 20000.0, Streams(0))
    t = trace(log)
    # Report after 1200 s of customer calls; processing 60, turnout 60, travel 100 to
    # the main's upstream end (node 1), isolation 600, repair 3600.
    assert (2200.0, "report", "water.pipe.P2") in t
    assert (2420.0, "arrive", "units.water_crew.WD1.W1") in t
    assert (3020.0, "isolate", "water.pipe.P2") in t
    assert (3020.0, "road_close", "roads.link.1") in t
    assert (6620.0, "restore", "water.pipe.P2") in t
    assert (6620.0, "road_open", "roads.link.1") in t
    service = [(s.t_s, s.customers_out) for s in log.service]
    # Node 2's 10 customers lose pressure at the burst and get water back at restoration.
    assert service == [(0.0, 0), (1000.0, 10), (6620.0, 0)]


def test_pressure_monitoring_detects_sooner_with_same_hazard() -> None:
    city = line_city(units=(("WD1", "water_crew", 0),), valves=((1, 1),))
    h = Hazard("H1", 1000.0, "water.pipe_burst", "water.pipe.P2", {"pipe": "P2"})
    base = policy()
    mon = policy()
    mon.interventions.pressure_monitoring = True
    a = engine.run(city, [h], [], make_policy(base, city_cfg()), 20000.0, Streams(0))
    b = engine.run(city, [h], [], make_policy(mon, city_cfg()), 20000.0, Streams(0))
    assert a.incidents[0].t_report == 2200.0
    assert b.incidents[0].t_report == 1120.0


def test_no_capable_unit_is_unserved() -> None:
    city = line_city()
    p = policy()
    p.dispatch.run_cards["medical"] = {"ambulance": 1}
    p.dispatch.on_scene["medical"] = fixed(10.0)
    log = engine.run(city, [], [Call(10.0, "medical", 1)], make_policy(p, city_cfg()), 1000.0, Streams(0))
    assert log.incidents[0].outcome == "unserved"


def test_open_work_at_horizon_is_recorded() -> None:
    city = line_city()
    log = engine.run(city, [], [Call(100.0, "fire", 2)], make_policy(policy(), city_cfg()), 500.0, Streams(0))
    inc = log.incidents[0]
    assert inc.outcome == "open_at_end" and inc.t_arrival == 420.0 and inc.t_control is None
