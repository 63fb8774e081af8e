"""Routing at city scale: limited searches answer exactly as full ones; dispatch without a scan."""

from __future__ import annotations

import numpy as np
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.city import UnitSpec
from sim.dispatch import Dispatcher, Unit
from sim.roads import RoadState
from tests.test_roads import random_roads


def old_position(dist: np.ndarray, nxt: np.ndarray, origin: int, target: int, elapsed: float) -> int:
    """The walk along a full table's next hops (the reference)."""
    if not np.isfinite(dist[origin]):
        return origin
    node, start = origin, dist[origin]
    while node != target and start - dist[int(nxt[node])] <= elapsed:
        node = int(nxt[node])
    return node


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), first=st.floats(1.0, 200.0), closures=st.integers(0, 8))
def test_limited_answers_equal_full_tables(seed: int, first: float, closures: int) -> None:
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, 80, 240)
    rs = RoadState(roads, first_limit_s=first)  # a small first radius forces widening
    ref = RoadState(roads)
    for link in rng.integers(0, roads.n_links, closures):
        rs.close(int(link))
        ref.close(int(link))
    for _ in range(30):
        o, t = (int(a) for a in rng.integers(0, roads.n_nodes, 2))
        dist, nxt = ref._to(t)
        assert rs.time(o, t) == float(dist[o]) or (np.isinf(dist[o]) and np.isinf(rs.time(o, t)))
        assert rs.path(o, t) == ref.path(o, t)
        for elapsed in (0.0, float(rng.uniform(0, 400)), 1e9):
            assert rs.position(o, t, elapsed) == old_position(dist, nxt, o, t, elapsed)
    # Point-to-point questions never needed a full table unless a node was unreachable.
    assert all(np.isinf(ref._to(t)[0]).any() for t in rs._cache)


def test_caches_are_bounded_in_bytes() -> None:
    rng = np.random.default_rng(5)
    roads = random_roads(rng, 500, 1500)
    rs = RoadState(roads, cache_bytes=12 * 500 * 10)  # room for ten tables
    assert rs._cache_size == 10
    for t in range(200):
        rs.time((t * 7) % 500, t)
        rs.times_to(t)
    assert len(rs._cache) <= 10 and len(rs._limited) <= 10
    assert sum(len(v) for v in rs._limits_of.values()) == len(rs._limited)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), n_units=st.integers(1, 30))
def test_nearest_equals_a_scan_of_every_unit(seed: int, n_units: int) -> None:
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, 60, 200)
    env = simpy.Environment()
    rs = RoadState(roads, first_limit_s=50.0)
    units = [Unit(UnitSpec(f"S{i}.A1", "ambulance", f"S{i}"), home=int(rng.integers(0, 60)),
                  turnout_s=float(rng.choice([0.0, 60.0]))) for i in range(n_units)]
    for u in units:
        u.node = u.home
    d = Dispatcher(env, rs, units, lambda rec: None)
    d.search_s = 30.0
    env.run(until=float(rng.uniform(0, 500)))
    for u in units:
        status = str(rng.choice(["idle", "busy", "returning"]))
        d.set_status(u, status)
        if status == "returning":
            u.ret_from, u.ret_t0 = int(rng.integers(0, 60)), float(rng.uniform(0, env.now))
        # Some units share a node: ties go to the unit listed first.
    for scene in rng.integers(0, 60, 10):
        got = d.nearest(d.by_kind["ambulance"], int(scene))
        want = d._scan(d.by_kind["ambulance"], int(scene))
        assert got[0] is want[0] and (got[1] == want[1] or (np.isinf(got[1]) and np.isinf(want[1])))


def test_a_change_rewrites_only_its_own_entries() -> None:
    """Two nodes joined both ways by parallel links: each change must land on the right entry."""
    from sim.city import Roads

    roads = Roads(
        x_m=np.array([0.0, 1.0]), y_m=np.zeros(2), elev_m=np.zeros(2),
        u=np.array([1, 0, 1, 0]), v=np.array([0, 1, 0, 1]), length_m=np.array([385.0, 441.0, 400.0, 278.0]),
        speed_kmh=np.full(4, 36.0), road_class=np.zeros(4, int), oneway=np.array([True, False, False, False]),
        bridge=np.zeros(4, bool), tunnel=np.zeros(4, bool), underpass=np.zeros(4, bool),
    )
    rs = RoadState(roads)
    for link, factor in ((3, 2.5), (0, np.inf), (2, 0.5), (3, 1.0), (1, np.inf)):
        rs.set_factor(link, factor)
        fresh = RoadState(roads)
        fresh.factor[:] = rs.factor
        fresh._build_structure()  # built from scratch at this road state
        assert np.array_equal(rs._reverse_graph().toarray(), fresh._reverse_graph().toarray())
        assert rs.time(0, 1) == fresh.time(0, 1) and rs.time(1, 0) == fresh.time(1, 0)
