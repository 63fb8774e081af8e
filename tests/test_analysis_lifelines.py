"""Lifeline tables and the cascade tree, on hand-made run tables."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.lifelines import cascade_share, cascade_tree, lifeline_table, tree_lines

SERVICE = pd.DataFrame(
    [
        (0.0, "water", 1.0, 0, 100, "start"),
        (0.0, "power", 1.0, 0, 200, "start"),
        (100.0, "power", 0.5, 100, 200, "S1 fault"),
        (100.0, "water", 0.6, 40, 100, "S1 fault"),
        (100.0, "water.cascade", 0.7, 30, 100, "S1 fault"),
        (400.0, "power", 1.0, 0, 200, "S1 restored"),
        (400.0, "water", 0.9, 10, 100, "S1 restored"),
        (400.0, "water.cascade", 1.0, 0, 100, "S1 restored"),
        (700.0, "water", 1.0, 0, 100, "main restored"),
    ],
    columns=["t_s", "lifeline", "served_fraction", "customers_out", "customers_total", "cause"],
)


def test_cascade_share_is_the_cascade_part_of_the_customer_hours() -> None:
    # water: 40 x 300 s + 10 x 300 s = 15,000 customer-s; cascade: 30 x 300 s = 9,000.
    assert cascade_share(SERVICE, 1000.0, "water") == pytest.approx(9000 / 15000)
    assert cascade_share(SERVICE, 1000.0, "power") == 0.0
    quiet = SERVICE[SERVICE["t_s"] == 0.0]
    assert cascade_share(quiet, 1000.0, "water") is None


def test_lifeline_table_rows_and_ieee_1366_indices() -> None:
    rows = {r["lifeline"]: r for r in lifeline_table(SERVICE, 1000.0)}
    assert list(rows) == ["power", "water"]
    p = rows["power"]
    assert p["customer_hours_lost"] == pytest.approx(100 * 300 / 3600)
    assert p["saifi"] == pytest.approx(100 / 200)
    assert p["saidi_h"] == pytest.approx(100 * 300 / 200 / 3600)
    assert p["caidi_h"] == pytest.approx(p["saidi_h"] / p["saifi"])
    assert rows["water"]["time_to_recover_s"] == pytest.approx(600.0)


EVENTS = pd.DataFrame(
    [(10.0, "lifeline_down", "power.substation.S1", 7, None, "cause=incident.7"),
     (10.0, "lifeline_down", "power.feeder.FZ01", 7, 500.0, "cause=power.substation.S1")]
    + [(10.0, "lifeline_down", f"elevators.HR{k}", 7, float(k % 2), "cause=power.feeder.FZ01") for k in range(5)]
    + [(10.0, "lifeline_down", "water.pump.PS1", 7, 30.0, "cause=power.feeder.FZ01"),
       (50.0, "lifeline_down", "hospital.H1", 7, 8.0, "cause=power.feeder.FZ01"),
       (60.0, "lifeline_up", "power.substation.S1", 7, None, "cause=incident.7")],
    columns=["t_s", "kind", "scope", "incident", "value", "note"],
)


def test_cascade_tree_groups_many_dependents_of_one_class() -> None:
    roots = cascade_tree(EVENTS)
    assert [r.scope for r in roots] == ["power.substation.S1"]
    feeder = roots[0].children[0]
    assert feeder.scope == "power.feeder.FZ01" and feeder.value == 500.0
    kids = {c.scope: c for c in feeder.children}
    assert kids["elevators"].count == 5 and kids["elevators"].value == 2.0
    assert kids["water.pump.PS1"].count == 1 and kids["hospital.H1"].t_s == 50.0
    lines = tree_lines(roots)
    assert lines[0] == (0, "Substation S1 — incident 7, at 0:00 h")
    assert (2, "Elevators stopped: 5 — 2 elevators with people trapped, at 0:00 h") in lines
    assert cascade_tree(EVENTS[EVENTS["kind"] == "lifeline_up"]) == []


def test_dark_zones_are_those_without_power_at_the_worst_moment() -> None:
    from analysis.citymap import dark_zones

    events = pd.DataFrame(
        [(10.0, "lifeline_down", "power.feeder.FZ01", 1, 5.0, ""),
         (10.0, "lifeline_down", "power.feeder.FZ02", 1, 5.0, ""),
         (50.0, "lifeline_up", "power.feeder.FZ01", 1, 5.0, ""),
         (60.0, "lifeline_down", "power.feeder.FZ03", 2, 5.0, "")],
        columns=["t_s", "kind", "scope", "incident", "value", "note"])
    service = pd.DataFrame(
        [(0.0, "power", 1.0, 0, 20, ""), (10.0, "power", 0.5, 10, 20, ""), (50.0, "power", 0.75, 5, 20, ""),
         (60.0, "power", 0.5 - 0.05, 11, 20, "")],
        columns=["t_s", "lifeline", "served_fraction", "customers_out", "customers_total", "cause"])
    assert dark_zones(events, service) == (60.0, ["Z02", "Z03"])
    assert dark_zones(events, service[service["t_s"] == 0.0]) == (None, [])
