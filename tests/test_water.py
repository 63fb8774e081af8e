"""Valve segments, failed valves and unintended isolation on hand-built networks."""

from __future__ import annotations

import numpy as np

from sim.water import WaterState, segments
from tests.conftest import line_city


def test_segments_split_at_valves() -> None:
    # Nodes 0-1-2-3-4, pipes P1..P4; valves on P2 at node 1 and on P3 at node 3.
    city = line_city(n=5, valves=((1, 1), (2, 3)))
    pipe_seg, node_seg, valves_of = segments(city.water, 5)
    assert pipe_seg[0] != pipe_seg[1]
    assert pipe_seg[1] == pipe_seg[2]  # P2 and P3 share node 2, no valve between
    assert pipe_seg[2] != pipe_seg[3]
    assert node_seg[1] == pipe_seg[0] and node_seg[3] == pipe_seg[3]


def test_isolation_cuts_off_downstream_customers() -> None:
    city = line_city(n=5, valves=((1, 1), (2, 3)), customers=(0, 10, 20, 30, 40))
    w = WaterState(city.water, 5)
    iso = w.isolate(1, np.zeros(len(city.water.valves), bool))
    assert iso.pipes == (1, 2) and iso.failed_valves == ()
    w.apply(iso)
    # Node 2 is inside the segment; nodes 3 and 4 are cut off from the plant at node 0.
    assert w.customers_out() == 20 + 30 + 40
    w.restore(1)
    assert w.customers_out() == 0


def test_failed_valve_widens_the_segment() -> None:
    city = line_city(n=5, valves=((1, 1), (2, 3)), customers=(0, 10, 20, 30, 40))
    w = WaterState(city.water, 5)
    fails = np.array([True, False])  # the valve at node 1 sticks
    iso = w.isolate(1, fails)
    assert iso.failed_valves == (0,)
    assert set(iso.pipes) == {0, 1, 2}
    w.apply(iso)
    assert w.customers_out() == 10 + 20 + 30 + 40


def test_burst_depressurises_only_its_segment_until_isolated() -> None:
    city = line_city(n=5, valves=((1, 1), (2, 3)), customers=(0, 10, 20, 30, 40))
    w = WaterState(city.water, 5)
    w.depressurise(1)
    assert w.customers_out() == 20


def test_served_nodes_match_graph_reachability_under_random_outages() -> None:
    """Service after random pipes go out equals a plain reachability check (networkx) from the plants."""
    import networkx as nx

    from sim.config import Config
    from sim.district import build_district

    city = build_district(Config().city, np.random.default_rng(0))
    net = city.water
    rng = np.random.default_rng(1)
    counts = []
    for k in (0, 1, 5, 40, net.n_pipes // 2):
        ws = WaterState(net, city.roads.n_nodes)
        out = {int(j) for j in rng.choice(net.n_pipes, size=k, replace=False)}
        ws.squeezed = {-1: out}  # type: ignore[attr-defined]  # out of service, their segments still live
        g = nx.Graph()
        g.add_nodes_from(range(city.roads.n_nodes))
        g.add_edges_from((int(net.u[j]), int(net.v[j])) for j in range(net.n_pipes) if j not in out)
        want = np.zeros(city.roads.n_nodes, dtype=bool)
        for s in net.sources:
            want[list(nx.node_connected_component(g, int(s)))] = True
        got = ws.served_nodes()
        assert np.array_equal(got, want), k
        counts.append(int(got.sum()))
    assert counts[-1] < counts[0]  # the largest outage does cut nodes off (the check is not vacuous)


def test_a_network_without_pipes_serves_only_its_plants() -> None:
    from sim.city import WaterNetwork

    none = np.zeros(0, dtype=np.int64)
    net = WaterNetwork(pipe_ids=(), u=none, v=none, length_m=np.zeros(0), diameter_mm=np.zeros(0), material=(),
                       install_year=none, road_link=none, sources=(1,), valves=(), customers=np.ones(3, dtype=np.int64))
    assert WaterState(net, 3).served_nodes().tolist() == [False, True, False]
