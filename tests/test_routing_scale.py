"""Routing at city scale: limited searches answer exactly as full ones; dispatch without a scan."""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.city import Roads, UnitSpec
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
            u.node = int(rng.integers(0, 60))
            u.ret_route, u.ret_t0 = rs.route(u.node, u.home), float(rng.uniform(0, env.now))
        # Some units share a node: ties go to the unit listed first.
    # Enough questions for the kind's own first radius (the 90th percentile of its answers) to take over;
    # a scene asked twice finds its search cached.
    found = 0
    for scene in rng.integers(0, 60, 40):
        got = d.nearest(d.by_kind["ambulance"], int(scene))
        want = d._scan(d.by_kind["ambulance"], int(scene))
        assert got[0] is want[0] and (got[1] == want[1] or (np.isinf(got[1]) and np.isinf(want[1])))
        found += got[0] is not None
    assert len(d._recent.get("ambulance", [])) == found  # every answer feeds the kind's radius


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


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), first=st.floats(5.0, 300.0), steps=st.integers(1, 25))
def test_searches_kept_across_changes_equal_fresh_ones(seed: int, first: float, steps: int) -> None:
    """Closures, slow-downs and reopenings keep only the searches they cannot alter: every answer
    after each change equals a search on a fresh road state with the same factors."""
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, 50, 150)
    rs = RoadState(roads, first_limit_s=first)
    targets = [int(t) for t in rng.integers(0, roads.n_nodes, 6)]
    for _ in range(steps):
        for t in targets:  # fill the caches: full, limited and walked routes
            rs.times_to(t) if rng.random() < 0.3 else rs.times_near(t, float(rng.uniform(20, 400)))
            rs.path(int(rng.integers(0, roads.n_nodes)), t)
        link = int(rng.integers(0, roads.n_links))
        cause = str(rng.choice(["flood", "repair", "signals"]))
        factor = [None, np.inf, float(rng.uniform(1.1, 5.0)), float(rng.uniform(0.3, 0.9))][int(rng.integers(0, 4))]
        rs.set_cause(cause, link, factor)
        fresh = RoadState(roads)
        fresh.factor[:] = rs.factor
        fresh._rev.data[:] = fresh._group_weights()
        for t in targets:
            ref = fresh.times_to(t)
            assert np.array_equal(rs.times_to(t), ref)
            for lim in (30.0, 150.0):
                near = rs.times_near(t, lim)
                inside = ref <= lim
                assert np.array_equal(near[inside], ref[inside])
                assert np.all((near[~inside] == ref[~inside]) | np.isinf(near[~inside]))
            o = int(rng.integers(0, roads.n_nodes))
            path = rs.path(o, t)
            if np.isinf(ref[o]):
                assert path == []
            else:  # a fastest path: its links add up to the fresh time
                assert path[0] == o and path[-1] == t
                assert abs(sum(_arc_time(rs, a, b) for a, b in zip(path[:-1], path[1:], strict=True)) - ref[o]) <= 1e-9 * max(ref[o], 1)


def _arc_time(rs: RoadState, a: int, b: int) -> float:
    """Fastest arc a -> b under the current factors."""
    r = rs.roads
    fwd = (r.u == a) & (r.v == b)
    back = (r.u == b) & (r.v == a) & ~r.oneway.astype(bool)
    w = rs.base_s * rs.factor
    return float(max(min(w[fwd | back].min(), np.inf), 1e-6))


def test_a_change_far_from_a_search_keeps_it() -> None:
    rng = np.random.default_rng(3)
    roads = random_roads(rng, 60, 200)
    rs = RoadState(roads)
    dist, pred = rs._to(0)
    # A link whose arcs are in no tree arc of the search from 0: closing it keeps the table.
    off = next(k for k in range(roads.n_links)
               if pred[roads.u[k]] != roads.v[k] and pred[roads.v[k]] != roads.u[k])
    rs.close(off)
    assert rs.times_to(0) is dist  # the cached table, not a new search
    # A tree link: closing it drops the table.
    tail = int(np.flatnonzero(pred >= 0)[0])
    head = int(pred[tail])
    on = next(k for k in range(roads.n_links) if {int(roads.u[k]), int(roads.v[k])} == {tail, head})
    rs.close(on)
    new = rs.times_to(0)
    assert new is not dist and new[tail] > dist[tail]  # a new search: the tail lost its fastest arc


def test_nobody_to_send_costs_no_search() -> None:
    """All units busy: the request queues without searching the city (a flood keeps pump trucks busy
    for hours; each call for one used to widen a search to the whole city and find nobody)."""
    rng = np.random.default_rng(5)
    roads = random_roads(rng, 40, 120)
    env = simpy.Environment()
    rs = RoadState(roads)
    units = [Unit(UnitSpec(f"S{i}.P1", "pump_truck", f"S{i}"), home=i, turnout_s=60.0) for i in range(3)]
    for u in units:
        u.node = u.home
    d = Dispatcher(env, rs, units, lambda rec: None)
    for u in units:
        d.set_status(u, "busy")
    searches = []
    within = rs._within
    rs._within = lambda t, lim: searches.append((t, lim)) or within(t, lim)  # type: ignore[method-assign]
    assert d.nearest(d.by_kind["pump_truck"], 7) == (None, float("inf"))
    assert searches == [] and not rs._cache
    d.set_status(units[1], "idle")
    assert d.nearest(d.by_kind["pump_truck"], 7)[0] is units[1] and searches


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), steps=st.integers(1, 20))
def test_paths_after_changes_equal_fresh_ones_even_on_ties(seed: int, steps: int) -> None:
    """Whole-second links (as in TNTP files) tie often: a kept search must still walk the route a
    fresh search walks, so where a unit is never depends on what happens to be cached."""
    rng = np.random.default_rng(seed)
    n = 30
    u, v = rng.integers(0, n, 90), rng.integers(0, n, 90)
    keep = u != v
    k = int(keep.sum())
    roads = Roads(x_m=np.zeros(n), y_m=np.zeros(n), elev_m=np.zeros(n), u=u[keep], v=v[keep],
                  length_m=rng.integers(1, 6, k) * 100.0, speed_kmh=np.full(k, 36.0),  # 10-50 s a link
                  road_class=np.zeros(k, int), oneway=rng.random(k) < 0.3, bridge=np.zeros(k, bool),
                  tunnel=np.zeros(k, bool), underpass=np.zeros(k, bool))
    rs = RoadState(roads, first_limit_s=20.0)
    targets = [int(t) for t in rng.integers(0, n, 4)]
    for _ in range(steps):
        for t in targets:
            rs.path(int(rng.integers(0, n)), t)
        link = int(rng.integers(0, k))
        rs.set_cause("c", link, [None, np.inf, 2.0, 0.5][int(rng.integers(0, 4))])
        fresh = RoadState(roads, first_limit_s=20.0)
        fresh.factor[:] = rs.factor
        fresh._rev.data[:] = fresh._group_weights()
        for t in targets:
            for o in range(n):
                assert rs.path(o, t) == fresh.path(o, t)
                assert rs.position(o, t, 25.0) == fresh.position(o, t, 25.0)


def test_a_faster_link_that_ties_drops_the_kept_route() -> None:
    # 0 -> 1 -> 2 (100 m + 100 m) against 0 -> 2 (300 m), one-way, 36 km/h: 20 s against 30 s.
    roads = Roads(x_m=np.zeros(3), y_m=np.zeros(3), elev_m=np.zeros(3), u=np.array([0, 1, 0]),
                  v=np.array([1, 2, 2]), length_m=np.array([100.0, 100.0, 300.0]), speed_kmh=np.full(3, 36.0),
                  road_class=np.zeros(3, int), oneway=np.ones(3, bool), bridge=np.zeros(3, bool),
                  tunnel=np.zeros(3, bool), underpass=np.zeros(3, bool))
    rs = RoadState(roads)
    assert rs.path(0, 2) == [0, 1, 2]
    rs.set_cause("signals", 2, 2.0 / 3.0)  # the direct link now takes 20 s too: a tie
    fresh = RoadState(roads)
    fresh.set_cause("signals", 2, 2.0 / 3.0)
    assert rs.path(0, 2) == fresh.path(0, 2) and rs.time(0, 2) == fresh.time(0, 2) == 20.0


def test_a_returning_unit_is_placed_on_the_route_it_took() -> None:
    """A closure after a unit left for quarters does not move it onto the new fastest route."""
    from sim.dispatch import Incident, serve

    # Scene 0, quarters 3: by node 1 (10 s + 10 s) or by node 2 (15 s + 15 s).
    roads = Roads(
        x_m=np.array([0.0, 1.0, 1.0, 2.0]), y_m=np.array([0.0, 1.0, -1.0, 0.0]), elev_m=np.zeros(4),
        u=np.array([0, 1, 0, 2]), v=np.array([1, 3, 2, 3]), length_m=np.array([100.0, 100.0, 150.0, 150.0]),
        speed_kmh=np.full(4, 36.0), road_class=np.zeros(4, int), oneway=np.zeros(4, bool),
        bridge=np.zeros(4, bool), tunnel=np.zeros(4, bool), underpass=np.zeros(4, bool),
    )
    env = simpy.Environment()
    rs = RoadState(roads)
    unit = Unit(UnitSpec("S0.E1", "engine", "S0"), home=3, turnout_s=0.0, node=3)
    d = Dispatcher(env, rs, [unit], lambda rec: None)
    unit.proc = env.process(serve(env, unit, d))
    inc = Incident(id=1, type="fire", severity=1, source="test", scope="roads.node.0", node=0, zone="",
                   t_occur=0.0, rng=np.random.default_rng(0))
    inc.controlled = env.event()
    inc.controlled.succeed()
    seen = []

    def script() -> object:
        d.request(inc, "engine")  # there at 20 s, leaves for quarters by node 1 at once
        yield env.timeout(25.0)
        rs.close(1)  # the link 1-3 ahead of it: the fastest route from the scene is now by node 2
        yield env.timeout(7.0)
        seen.append((unit.status, d.where(unit)))

    env.process(script())
    env.run(until=32.5)
    assert rs.path(0, 3) == [0, 2, 3]
    assert seen == [("returning", 1)]  # 12 s along 0-1-3 it has passed node 1 (on 0-2-3 it would be at 0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_set_causes_equals_a_road_state_built_afresh(seed: int) -> None:
    """Causes set link by link or many at once leave the weights, twins and answers of a road state built
    from scratch at the same factors (each the product of its causes')."""
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, 50, 160)  # parallel links included
    one, many = RoadState(roads, first_limit_s=20.0), RoadState(roads, first_limit_s=20.0)
    twin_one, twin_many = one.twin(), many.twin()
    layers: dict[str, dict[int, float]] = {}  # the causes as the test keeps them (the twins': without own)
    twin_layers: dict[str, dict[int, float]] = {}
    before = {id(many): np.ones(roads.n_links), id(twin_many): np.ones(roads.n_links)}
    for step in range(6):
        cause = str(rng.choice(["flood", "repair", "signals"]))
        links = rng.choice(roads.n_links, int(rng.integers(0, 30)), replace=False).tolist()
        factors = [None if r < 0.2 else np.inf if r < 0.35 else 1.0 if r < 0.45 else float(r) if r < 0.6
                   else float(1 + 4 * r) for r in rng.random(len(links))]  # float(r): a faster link
        own = bool(step % 2)
        for link, f in zip(links, factors, strict=True):
            one.set_cause(cause, link, f, own=own)
        versions = (many.version, twin_many.version)
        many.set_causes(cause, links, factors, own=own)
        for book in [layers] + ([] if own else [twin_layers]):
            for link, f in zip(links, factors, strict=True):
                if f is None or f == 1.0:
                    book.setdefault(cause, {}).pop(link, None)
                else:
                    book.setdefault(cause, {})[link] = f
        for a, b, book, v0 in ((one, many, layers, versions[0]), (twin_one, twin_many, twin_layers, versions[1])):
            want = np.ones(roads.n_links)
            for name in sorted(book):
                for link, f in book[name].items():
                    want[link] *= f
            fresh = RoadState(roads)
            fresh.factor[:] = want
            fresh._build_structure()  # weights from scratch at these factors
            assert np.array_equal(a.factor, want) and np.array_equal(b.factor, want) and a.version == b.version
            assert b.version - v0 == int(np.sum(want != before[id(b)]))  # one per link whose factor moved
            before[id(b)] = want
            assert np.array_equal(a._reverse_graph().data, fresh._reverse_graph().data)
            assert np.array_equal(b._reverse_graph().data, fresh._reverse_graph().data)
            for o, t in rng.integers(0, roads.n_nodes, (10, 2)).tolist():
                ta, tb, tf = a.time(o, t), b.time(o, t), fresh.time(o, t)
                assert ta == tb == tf or (np.isinf(ta) and np.isinf(tb) and np.isinf(tf))
                assert a.path(o, t) == b.path(o, t) == fresh.path(o, t)
    before, data = many.factor.copy(), many._reverse_graph().data.copy()
    with pytest.raises(ValueError, match=r"roads\.link\.3: factor must be > 0"):
        many.set_causes("flood", [2, 3], [2.0, -1.0])
    with pytest.raises(ValueError, match="twice"):
        many.set_causes("flood", [2, 2], [2.0, 3.0])
    with pytest.raises(TypeError):
        many.set_cause("flood", 3.7, 2.0)  # type: ignore[arg-type]  # not a link id
    assert np.array_equal(many.factor, before) and np.array_equal(many._reverse_graph().data, data)  # nothing set
