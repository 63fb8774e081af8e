"""Routing equals networkx's Dijkstra on random graphs with random closures."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.city import Roads
from sim.roads import RoadState


def random_roads(rng: np.random.Generator, n: int, m: int) -> Roads:
    u = rng.integers(0, n, size=m)
    v = rng.integers(0, n, size=m)
    keep = u != v
    u, v = u[keep], v[keep]
    k = len(u)
    return Roads(
        x_m=rng.uniform(0, 1000, n), y_m=rng.uniform(0, 1000, n), elev_m=np.zeros(n),
        u=u, v=v, length_m=rng.uniform(10, 500, k), speed_kmh=rng.choice([25.0, 40.0, 60.0], k),
        road_class=np.zeros(k, int), oneway=rng.random(k) < 0.3, bridge=np.zeros(k, bool),
        tunnel=np.zeros(k, bool), underpass=np.zeros(k, bool),
    )


def nx_graph(roads: Roads, factor: np.ndarray) -> nx.DiGraph:
    """The forward road graph in networkx, the fastest of parallel arcs; closed links left out."""
    g = nx.DiGraph()
    g.add_nodes_from(range(roads.n_nodes))
    w = roads.travel_time_s() * factor
    for i in range(roads.n_links):
        if not np.isfinite(w[i]):
            continue
        arcs = [(int(roads.u[i]), int(roads.v[i]))]
        if not roads.oneway[i]:
            arcs.append((int(roads.v[i]), int(roads.u[i])))
        for a, b in arcs:
            if not g.has_edge(a, b) or g[a][b]["weight"] > w[i]:
                g.add_edge(a, b, weight=float(w[i]))
    return g


def nx_times_to(roads: Roads, factor: np.ndarray, target: int) -> dict[int, float]:
    return nx.single_source_dijkstra_path_length(nx_graph(roads, factor).reverse(copy=True), target, weight="weight")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(2, 40), closures=st.integers(0, 10))
def test_times_equal_networkx_with_closures(seed: int, n: int, closures: int) -> None:
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, n, 3 * n)
    rs = RoadState(roads)
    target = int(rng.integers(0, n))
    rs.times_to(target)  # fill the cache, then change the road state
    for link in rng.choice(roads.n_links, size=min(closures, roads.n_links), replace=False):
        rs.close(int(link))
    if roads.n_links:  # with n=2 every drawn link may be a self-loop, dropped
        slow = int(rng.integers(0, roads.n_links))
        if not rs.is_closed(slow):
            rs.set_factor(slow, 2.5)
    ours = rs.times_to(target)
    ref = nx_times_to(roads, rs.factor, target)
    for node in range(n):
        if node in ref:
            assert abs(ours[node] - ref[node]) < 1e-6 * max(1.0, ref[node])
            path = rs.path(node, target)
            assert path[0] == node and path[-1] == target
        else:
            assert np.isinf(ours[node])
            assert rs.path(node, target) == []


def test_cache_is_dropped_when_the_road_state_changes() -> None:
    rng = np.random.default_rng(1)
    roads = random_roads(rng, 10, 30)
    rs = RoadState(roads)
    v0 = rs.version
    rs.times_to(0)
    rs.close(0)
    assert rs.version == v0 + 1
    rs.open(0)
    assert rs.version == v0 + 2
    rs.open(0)  # no change, no new version
    assert rs.version == v0 + 2


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), limit=st.floats(50, 3000))
def test_limited_search_is_exact_inside_its_radius(seed: int, limit: float) -> None:
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, 60, 180)
    rs = RoadState(roads)
    full = rs.times_to(0)
    part = rs.times_within(0, limit)
    inside = full <= limit
    assert np.allclose(part[inside], full[inside])
    assert np.all(np.isinf(part[~inside]))


def test_causes_layer_on_a_link_and_clear_independently() -> None:
    rng = np.random.default_rng(7)
    roads = random_roads(rng, 12, 40)
    rs = RoadState(roads)
    link = 3
    rs.set_cause("signals", link, 1.3)
    rs.set_cause("flood", link, 2.0)
    assert rs.factor[link] == pytest.approx(2.6)
    rs.set_cause("repair", link, np.inf)
    assert rs.is_closed(link)
    rs.set_cause("repair", link, None)  # the repair reopens: the flood and the signals stay
    assert rs.factor[link] == pytest.approx(2.6) and rs.cause_factor("flood", link) == 2.0
    rs.set_cause("flood", link, None)
    assert rs.factor[link] == pytest.approx(1.3)
    rs.set_cause("signals", link, None)
    assert rs.factor[link] == 1.0 and rs.cause_factor("signals", link) == 1.0
    with pytest.raises(ValueError, match="roads.link.3"):
        rs.set_cause("flood", link, 0.0)


@given(seed=st.integers(0, 10_000))
@settings(max_examples=25, deadline=None)
def test_twin_shares_causes_but_keeps_its_own(seed: int) -> None:
    """A twin road state equals a fresh one given the same causes: shared ones through set_cause, its own with own=True."""
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, 30, 70)
    main = RoadState(roads)
    main.set_cause("repair", 0, np.inf)
    twin = main.twin()
    ref = RoadState(roads)
    ref.set_cause("repair", 0, np.inf)
    for link in rng.choice(roads.n_links, 10, replace=False).tolist():
        f = float(rng.choice([np.inf, 2.0, 5.0]))
        main.set_cause("signals", link, f)  # reaches the twin
        ref.set_cause("signals", link, f)
    flooded = rng.choice(roads.n_links, 10, replace=False).tolist()
    for k, link in enumerate(flooded):
        main.set_cause("flood", link, 3.0, own=True)  # main's own
        twin.set_cause("flood", link, np.inf, own=True)
        ref.set_cause("flood", link, np.inf)
        if k % 3 == 0:  # questions between the changes: the twin's caches must follow its own changes
            t = int(rng.integers(roads.n_nodes))
            assert np.array_equal(twin.times_to(t), ref.times_to(t))
            assert np.array_equal(twin.times_near(t, 300.0) <= 300.0, ref.times_near(t, 300.0) <= 300.0)
    assert np.array_equal(twin.factor, ref.factor)
    for target in range(0, roads.n_nodes, 7):
        assert np.array_equal(twin.times_to(target), ref.times_to(target))
    for link in flooded:
        assert main.cause_factor("flood", link) == 3.0 and twin.cause_factor("flood", link) == np.inf


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(2, 30), closures=st.integers(0, 8))
def test_free_flow_from_origins_ignores_the_day_s_closures(seed: int, n: int, closures: int) -> None:
    rng = np.random.default_rng(seed)
    roads = random_roads(rng, n, 3 * n)
    rs = RoadState(roads)
    for link in rng.choice(roads.n_links, size=min(closures, roads.n_links), replace=False):
        rs.close(int(link))
    origins = sorted({int(x) for x in rng.integers(0, n, size=2)})
    ours = rs.free_flow_from(origins)
    # networkx on the forward graph with every link at its free-flow time (closures ignored).
    g = nx_graph(roads, np.ones(roads.n_links))
    ref = nx.multi_source_dijkstra_path_length(g, set(origins), weight="weight")
    for node in range(n):
        if node in ref:
            assert abs(ours[node] - ref[node]) < 1e-6 * max(1.0, ref[node])
        else:
            assert np.isinf(ours[node])
    assert rs.free_flow_from([]).shape == (n,) and np.isinf(rs.free_flow_from([])).all()
