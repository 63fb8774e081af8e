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
