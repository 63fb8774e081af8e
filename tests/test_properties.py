"""Properties from first principles, checked on random call streams (Hypothesis)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios.background import Call
from sim import engine
from sim.config import CityConfig, PolicyConfig, ServiceTime
from sim.policy import make_policy
from sim.rng import Streams
from tests.conftest import line_city

calls_strategy = st.lists(
    st.tuples(st.floats(0, 20_000, allow_nan=False), st.sampled_from(["fire", "medical"]), st.integers(0, 5)),
    min_size=1,
    max_size=40,
)


def world(n_engines: int, n_amb: int) -> tuple:
    units = tuple(("FS1", "engine", 0) for _ in range(n_engines)) + tuple(
        ("AS1", "ambulance", 5) for _ in range(n_amb)
    )
    city = line_city(n=6, units=units)
    pol = PolicyConfig()
    pol.dispatch.run_cards = {"fire": {"engine": 2}, "medical": {"ambulance": 1}}
    pol.dispatch.on_scene = {"fire": ServiceTime(median_s=1800.0, sigma=0.6),
                             "medical": ServiceTime(median_s=1200.0, sigma=0.4)}
    return city, make_policy(pol, CityConfig())


@settings(max_examples=40, deadline=None)
@given(raw=calls_strategy, n_engines=st.integers(1, 3), n_amb=st.integers(1, 2), seed=st.integers(0, 10**6))
def test_run_invariants(raw: list, n_engines: int, n_amb: int, seed: int) -> None:
    city, pol = world(n_engines, n_amb)
    calls = sorted((Call(t, k, n) for t, k, n in raw), key=lambda c: (c.t_s, c.type, c.node))
    horizon = 40_000.0
    log = engine.run(city, [], calls, pol, horizon, Streams(seed))
    times = [r.t_s for r in log.events]
    assert times == sorted(times), "record times go backwards"
    closes = Counter(r.incident for r in log.events if r.kind == "close")
    for inc in log.incidents:
        assert inc.outcome in ("resolved", "unserved", "open_at_end")
        # Every incident ends exactly once: one close record iff it is not open at the end.
        assert closes.get(inc.id, 0) == (0 if inc.outcome == "open_at_end" else 1)
        stamps = [inc.t_occur, inc.t_report, inc.t_ready, inc.t_dispatch, inc.t_enroute, inc.t_arrival,
                  inc.t_control, inc.t_close]
        seen = [s for s in stamps if s is not None]
        assert seen == sorted(seen)
        if inc.t_arrival is not None:
            drive = inc.t_arrival - inc.t_enroute
            # Response (report -> arrival) is never shorter than the drive itself,
            # and every drive is a whole number of 100 s links on this line city.
            assert inc.t_arrival - inc.t_report >= drive
            assert abs(drive / 100.0 - round(drive / 100.0)) < 1e-6
    assert sum(closes.values()) == sum(1 for i in log.incidents if i.outcome != "open_at_end")
    assert_units_exclusive(log.events)


#: Unit records that belong to one assignment, in the order they may come.
_ASSIGN = ("dispatch", "retask")


def assert_units_exclusive(events: list) -> None:
    """A unit is on one incident at a time and in one place at a time.

    Per unit, records come in assignments: ``dispatch`` (or ``retask``) for an
    incident, then at most one ``enroute`` and one ``arrive``, then ``clear``,
    all naming that incident; a new assignment starts only after ``clear``
    (a unit diverted on its way back is ``retask``ed after clearing), and
    ``in_quarters`` only comes between assignments.
    """
    current: dict[str, tuple[int, set[str]]] = {}
    for r in events:
        if not r.scope.startswith("units."):
            continue
        unit, kind = r.scope, r.kind
        if kind in _ASSIGN:
            assert unit not in current, f"{unit} assigned to {r.incident} while on {current[unit][0]} at {r.t_s}"
            current[unit] = (r.incident, set())
        elif kind in ("enroute", "arrive", "clear"):
            assert unit in current, f"{unit}: {kind} at {r.t_s} without an assignment"
            inc, seen = current[unit]
            assert r.incident == inc, f"{unit}: {kind} for {r.incident} while on {inc}"
            assert kind not in seen, f"{unit}: {kind} twice on incident {inc}"
            if kind == "arrive":
                assert "clear" not in seen
            seen.add(kind)
            if kind == "clear":
                assert "arrive" in seen, f"{unit} cleared incident {inc} without arriving"
                del current[unit]
        elif kind == "in_quarters":
            assert unit not in current, f"{unit} in quarters while on incident {current[unit][0]}"


@settings(max_examples=25, deadline=None)
@given(raw=calls_strategy, seed=st.integers(0, 10**6))
def test_enough_idle_units_never_wait(raw: list, seed: int) -> None:
    # One engine pair and one ambulance per call: nothing ever queues.
    city, pol = world(n_engines=2 * len(raw), n_amb=len(raw))
    calls = sorted((Call(t, k, n) for t, k, n in raw), key=lambda c: (c.t_s, c.type, c.node))
    log = engine.run(city, [], calls, pol, 40_000.0, Streams(seed))
    assert not [r for r in log.events if r.kind == "queue"]
    for inc in log.incidents:
        assert inc.t_dispatch == inc.t_ready


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), multiplier=st.floats(1.0, 40.0))
def test_district_invariants_under_bursts(seed: int, multiplier: float) -> None:
    """On the generated district with random burst days: served fractions stay in
    [0, 1] and match the customer counts; units stay exclusive; records keep time order."""
    from sim.config import Config
    from sim.runner import prepare

    cfg = Config()
    cfg.seed = seed
    cfg.run.horizon_s = 43_200.0
    cfg.scenario.name = "pipe_burst"
    cfg.scenario.pipe_burst.rate_multiplier = multiplier
    cfg.scenario.pipe_burst.min_bursts = 2
    p = prepare(cfg)
    log = engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams)
    times = [r.t_s for r in log.events]
    assert times == sorted(times)
    assert log.service and len(p.hazards) >= 1
    for s in log.service:
        assert 0.0 <= s.served_fraction <= 1.0
        assert 0 <= s.customers_out <= s.customers_total
        assert abs(s.served_fraction - (1 - s.customers_out / s.customers_total)) < 1e-6
    assert_units_exclusive(log.events)
