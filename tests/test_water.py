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
