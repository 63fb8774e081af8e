"""Metrics on hand-built run folders: exact numbers for response times, compliance and resilience."""

from __future__ import annotations

import ast
import csv
import json
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import (
    COMPONENTS,
    Standards,
    customer_hours_lost,
    fractile,
    headline,
    load_run,
    min_served,
    outage_indices,
    outcome_counts,
    recovery,
    resilience_loss,
    response_components,
    response_table,
    run_horizon,
    service_curve,
    service_resilience,
    standards_compliance,
    summarize,
)
from sim.log import CITY_FILES, EVENT_COLUMNS, HAZARD_COLUMNS, INCIDENT_COLUMNS, SERVICE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------ run folders


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if v is None else v for v in row])


def incident(i: int, typ: str, **times: Any) -> dict[str, Any]:
    """An incidents.csv row; ``times`` gives report/dispatch/enroute/arrival/close, wait and outcome."""
    row: dict[str, Any] = {c: None for c in INCIDENT_COLUMNS}
    row.update(incident=i, type=typ, severity=1, source="background", scope=f"roads.node.{i % 6}", node=i % 6,
               x_m=float(500 * (i % 3)), y_m=float(500 * (i % 2)), zone="Z01", t_occur_s=times.get("report", 0.0))
    for key in ("report", "dispatch", "enroute", "arrival", "control", "close"):
        row[f"t_{key}_s"] = times.get(key)
    row["wait_s"] = times.get("wait", 0.0 if times.get("dispatch") is not None else None)
    row["outcome"] = times.get("outcome", "resolved")
    row["t_unit_dispatch_s"] = times.get("unit_dispatch", times.get("dispatch") if times.get("arrival") is not None else None)
    row["n_units"] = 1 if times.get("arrival") is not None else 0
    row["first_unit"] = "units.engine.FS1.E1" if times.get("arrival") is not None else ""
    return row


#: Hand-made incidents with known segment times (see the compliance tests for the arithmetic).
SAMPLE_INCIDENTS = [
    incident(1, "fire", report=0.0, dispatch=60.0, enroute=120.0, arrival=360.0, close=900.0),
    incident(2, "fire", report=0.0, dispatch=50.0, enroute=150.0, arrival=400.0, close=900.0),
    incident(3, "rescue", report=0.0, dispatch=60.0, enroute=130.0, arrival=330.0, close=900.0),
    incident(4, "medical", report=0.0, dispatch=70.0, enroute=125.0, arrival=300.0, close=900.0),
    incident(5, "medical", report=0.0, dispatch=60.0, enroute=130.0, arrival=400.0, close=900.0),
    incident(6, "medical", report=0.0, close=60.0, outcome="unserved"),
    incident(7, "fire", report=3000.0, dispatch=3060.0, outcome="open_at_end"),
    incident(8, "water_main_break", report=1000.0, dispatch=1060.0, enroute=1660.0, arrival=2000.0,
             close=3000.0),
    incident(9, "medical", report=0.0, dispatch=200.0, wait=120.0, enroute=260.0, arrival=460.0, close=900.0),
]

#: Water: half the customers out from t = 100 s to t = 300 s.
HALF_OUTAGE = [
    (0.0, "water", 1.0, 0, 1000, "start"),
    (100.0, "water", 0.5, 500, 1000, "water.pipe.P2 burst"),
    (300.0, "water", 1.0, 0, 1000, "water.pipe.P2 restored"),
]

SAMPLE_EVENTS = [
    (100.0, "burst", "water.pipe.P2", 8, None, ""),
    (150.0, "isolate", "water.pipe.P2", 8, 500, "segment=P2,P3"),
    (300.0, "restore", "water.pipe.P2", 8, None, ""),
]


def write_city(root: Path) -> None:
    """Six road nodes on a 2 x 3 grid (500 m), every road class, a bridge and a tunnel."""
    d = root / "city"
    write_csv(d / "nodes.csv", CITY_FILES["nodes.csv"],
              [(n, 500.0 * (n % 3), 500.0 * (n // 3), 10.0) for n in range(6)])
    write_csv(d / "links.csv", CITY_FILES["links.csv"], [
        (0, 0, 1, 0, 500, 60, 0, 0, 0), (1, 1, 2, 0, 500, 60, 0, 0, 1), (2, 3, 4, 1, 500, 40, 0, 0, 0),
        (3, 4, 5, 2, 500, 25, 0, 0, 0), (4, 0, 3, 1, 500, 40, 1, 0, 0), (5, 1, 4, 2, 500, 25, 0, 1, 0),
        (6, 2, 5, 2, 500, 25, 0, 0, 0),
    ])
    write_csv(d / "stations.csv", CITY_FILES["stations.csv"], [
        ("FS1", "fire", 0, 0.0, 0.0, "FS1.E1 FS1.L1"), ("AS1", "ambulance", 5, 1000.0, 500.0, "AS1.A1"),
        ("WD1", "water_depot", 2, 1000.0, 0.0, "WD1.W1"),
    ])
    write_csv(d / "zones.csv", CITY_FILES["zones.csv"], [("Z01", "Centre", 4, 500.0, 500.0, 0.5, 3000, 1000)])
    write_csv(d / "pipes.csv", CITY_FILES["pipes.csv"], [
        ("P1", 0, 1, 500, 300, "DI", 1990, 0), ("P2", 1, 2, 500, 150, "CI", 1970, 1),
        ("P3", 2, 5, 500, 150, "CI", 1970, 6), ("P4", 3, 4, 500, 150, "PE", 2010, 2),
    ])


def write_run_folder(
    root: Path,
    *,
    incidents: Sequence[Mapping[str, Any]] = SAMPLE_INCIDENTS,
    service: Sequence[Sequence[Any]] | None = HALF_OUTAGE,
    events: Sequence[Sequence[Any]] = SAMPLE_EVENTS,
    horizon_s: float | None = 3600.0,
    city: bool = True,
    summary: Mapping[str, Any] | None = None,
) -> Path:
    """A run folder as the engine leaves it; ``horizon_s`` adds the closing ``horizon`` event."""
    root.mkdir(parents=True, exist_ok=True)
    write_csv(root / "incidents.csv", INCIDENT_COLUMNS, [[r[c] for c in INCIDENT_COLUMNS] for r in incidents])
    ev = list(events)
    if horizon_s is not None:
        ev.append((horizon_s, "horizon", "run", None, float(len(incidents)), ""))
    write_csv(root / "events.csv", EVENT_COLUMNS, ev)
    write_csv(root / "service.csv", SERVICE_COLUMNS, service if service is not None else [HALF_OUTAGE[0]])
    write_csv(root / "hazards.csv", HAZARD_COLUMNS, [("H1", 100.0, "water.pipe_burst", "water.pipe.P2",
                                                     '{"pipe": "P2"}')])
    if city:
        write_city(root)
    if summary is not None:
        (root / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return root


def components_frame(types: Sequence[str], **columns: Sequence[float]) -> pd.DataFrame:
    """A response_components-shaped frame with the given segments (the others NaN)."""
    df = pd.DataFrame({"type": list(types)})
    for c in COMPONENTS:
        df[c] = [float(v) for v in columns[c]] if c in columns else float("nan")
    return df


def service_frame(rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(SERVICE_COLUMNS))


# ------------------------------------------------------------ reading
def test_load_run_reads_every_table(tmp_path: Path) -> None:
    run = load_run(write_run_folder(tmp_path / "run", summary={"horizon_s": 3600.0, "seed": 3}))
    assert len(run.incidents) == len(SAMPLE_INCIDENTS)
    assert set(run.city) == {"nodes", "links", "stations", "zones", "pipes"}
    assert run.summary["seed"] == 3
    assert run.incidents.loc[5, "t_dispatch_s"] != run.incidents.loc[5, "t_dispatch_s"]  # empty cell -> NaN
    assert run.incidents.loc[5, "first_unit"] == ""
    assert run.events["note"].tolist()[1] == "segment=P2,P3"


def test_load_run_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_run(tmp_path / "nowhere")
    d = write_run_folder(tmp_path / "a")
    (d / "service.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"service\.csv"):
        load_run(d)
    d = write_run_folder(tmp_path / "b")
    write_csv(d / "incidents.csv", [c for c in INCIDENT_COLUMNS if c != "t_arrival_s"], [])
    with pytest.raises(ValueError, match=r"incidents\.csv.*t_arrival_s"):
        load_run(d)
    d = write_run_folder(tmp_path / "c")
    (d / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"summary\.json"):
        load_run(d)
    d = write_run_folder(tmp_path / "d")
    write_csv(d / "service.csv", SERVICE_COLUMNS, [(0.0, "water", "full", 0, 10, "start")])
    with pytest.raises(ValueError, match=r"service\.csv.*served_fraction"):
        load_run(d)


def test_horizon_comes_from_argument_summary_or_horizon_event(tmp_path: Path) -> None:
    run = load_run(write_run_folder(tmp_path / "a", horizon_s=5000.0))
    assert run_horizon(run) == 5000.0
    assert run_horizon(run, summary={"horizon_s": 7200}) == 7200.0
    assert run_horizon(run, 1000.0, summary={"horizon_s": 7200}) == 1000.0


def test_analysis_imports_nothing_from_sim_but_the_log() -> None:
    for path in (ROOT / "analysis").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name in ("sim.log",) or not name.startswith("sim"), f"{path.name} imports {name}"
    code = "import sys, analysis; bad = [m for m in ('simpy', 'sim.engine') if m in sys.modules]; print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------ fractiles
def test_summarize_uses_nearest_rank_fractiles() -> None:
    s = summarize(list(range(1, 11)) + [float("nan")])
    assert (s.count, s.mean, s.p50, s.p90, s.p95, s.max) == (10, 5.5, 5.0, 9.0, 10.0, 10.0)
    assert summarize([]).p90 is None and summarize([]).count == 0
    assert fractile([42.0], 0.9) == 42.0
    assert fractile(list(range(1, 21)), 0.9) == 18.0


@given(st.lists(st.integers(0, 2000), min_size=1, max_size=60), st.integers(1, 2000))
@settings(max_examples=60, deadline=None)
def test_share_meets_fractile_exactly_when_fractile_meets_target(values: list[int], target: int) -> None:
    comps = components_frame(["fire"] * len(values), travel=values)
    c = standards_compliance(comps, Standards(nfpa1710_travel_s=float(target)))["nfpa_travel"]
    assert c.passed == (c.value_at_fractile is not None and c.value_at_fractile <= target)


# ------------------------------------------------------------ response
def test_response_components_per_incident() -> None:
    comps = response_components(pd.DataFrame(SAMPLE_INCIDENTS)).set_index("incident")
    assert comps.loc[1, ["call_processing", "turnout", "travel", "dispatch_to_arrival", "response"]].tolist() == [
        60.0, 60.0, 240.0, 300.0, 360.0]
    assert comps.loc[9, ["call_processing", "queue_wait", "response"]].tolist() == [80.0, 120.0, 460.0]
    assert comps.loc[6, ["response", "travel"]].isna().all() and not comps.loc[6, "reached"]
    assert comps.loc[7, "response"] != comps.loc[7, "response"]


def test_compliance_counts_unreached_incidents_separately() -> None:
    comps = response_components(pd.DataFrame(SAMPLE_INCIDENTS))
    c = standards_compliance(comps)
    gb = c["gb51080"]  # fire/rescue dispatch->arrival 300, 350, 270; incident 7 never reached
    assert (gb.n, gb.n_met, gb.n_unmeasured) == (3, 2, 1)
    assert gb.share == pytest.approx(2 / 3) and gb.share_lower == 0.5
    assert gb.value_at_fractile == 350.0 and gb.passed is False
    tf = c["nfpa_turnout_fire"]  # 60, 100, 70 against 80
    assert (tf.n, tf.n_met, tf.value_at_fractile) == (3, 2, 100.0)
    te = c["nfpa_turnout_ems"]  # 55, 70, 60 against 60; incident 6 unserved
    assert (te.n, te.n_met, te.n_unmeasured, te.types) == (3, 2, 1, ("medical",))
    tr = c["nfpa_travel"]  # 240, 250, 200, 175, 270, 200 against 240; 6 and 7 never reached
    assert (tr.n, tr.n_met, tr.n_unmeasured) == (6, 4, 2)
    assert tr.share == pytest.approx(4 / 6) and tr.share_lower == 0.5 and tr.value_at_fractile == 270.0
    assert all(x.fractile == 0.9 for x in c.values())


def test_every_incident_type_has_one_response_class() -> None:
    """A type the engine can raise is a fire-service, EMS, utility or other-service call, never none
    (a flood rescue call left out would vanish from the GB 51080 and NFPA 1710 rows)."""
    from analysis import metrics
    from sim.config import DispatchConfig
    from sim.flood_process import FLOOD_TYPES

    classes = [metrics.FIRE_TYPES, metrics.EMS_TYPES, metrics.UTILITY_TYPES, metrics.OTHER_TYPES]
    raised = set(DispatchConfig().run_cards) | set(FLOOD_TYPES)
    for typ in sorted(raised):
        assert sum(typ in c for c in classes) == 1, typ
    assert {"vehicle_trapped", "people_trapped"} <= set(metrics.FIRE_TYPES)


def test_flood_rescue_calls_count_in_the_fire_service_standards() -> None:
    comps = components_frame(["vehicle_trapped", "people_trapped", "medical", "flood_pumping"],
                             dispatch_to_arrival=[200.0, 400.0, 100.0, 900.0], travel=[100.0, 350.0, 90.0, 800.0],
                             turnout=[60.0, 60.0, 50.0, 300.0])
    c = standards_compliance(comps)
    assert (c["gb51080"].n, c["gb51080"].n_met) == (2, 1)
    assert (c["nfpa_turnout_fire"].n, c["nfpa_turnout_fire"].n_met) == (2, 2)
    assert (c["nfpa_travel"].n, c["nfpa_travel"].n_met) == (3, 2)  # the pump truck's work order is not counted


def test_als_travel_row_counts_medical_calls_against_eight_minutes() -> None:
    """NFPA 1710's ALS objective (480 s of travel, EMS incidents only), beside the 240 s first-unit row."""
    comps = components_frame(["medical"] * 4 + ["fire"], travel=[200.0, 300.0, 480.0, 500.0, 600.0])
    c = standards_compliance(comps)
    als = c["nfpa_travel_als"]
    assert als.types == ("medical",) and als.target_s == 480.0
    assert (als.n, als.n_met, als.value_at_fractile, als.passed) == (4, 3, 500.0, False)
    assert (c["nfpa_travel"].n, c["nfpa_travel"].n_met) == (5, 1)
    assert standards_compliance(comps, {"nfpa1710_travel_als_s": 500.0})["nfpa_travel_als"].passed is True


def test_full_alarm_rows_use_the_card_travel_and_count_incomplete_cards_as_unmeasured() -> None:
    """NFPA 1710's initial full alarm: 480 s at fires, 610 s at high-rise fires; a card never complete on
    scene is unmeasured, so it lowers share_lower but not share."""
    comps = components_frame(["fire", "fire", "gas_fire", "highrise_fire", "highrise_fire", "medical"])
    comps["full_alarm_travel"] = [300.0, 500.0, float("nan"), 600.0, 700.0, 100.0]
    c = standards_compliance(comps)
    fa, hr = c["nfpa_full_alarm"], c["nfpa_full_alarm_highrise"]
    assert fa.types == ("fire", "gas_fire") and fa.target_s == 480.0
    assert (fa.n, fa.n_met, fa.n_unmeasured, fa.share, fa.share_lower) == (2, 1, 1, 0.5, 1 / 3)
    assert hr.types == ("highrise_fire",) and hr.target_s == 610.0 and (hr.n, hr.n_met) == (2, 1)
    assert standards_compliance(comps, {"nfpa1710_full_alarm_highrise_travel_s": 700.0})[
        "nfpa_full_alarm_highrise"].passed is True


def test_folder_without_the_full_alarm_columns_is_not_recorded_rather_than_failed(tmp_path: Path) -> None:
    """A folder written before the full-alarm columns loads; the measure is "not recorded", not a 0 % lower bound."""
    from sim.log import LATER_INCIDENT_COLUMNS

    d = write_run_folder(tmp_path / "old")
    old = [c for c in INCIDENT_COLUMNS if c not in LATER_INCIDENT_COLUMNS]
    write_csv(d / "incidents.csv", old, [[r[c] for c in old] for r in SAMPLE_INCIDENTS])
    run = load_run(d)
    assert not set(LATER_INCIDENT_COLUMNS) & set(run.incidents.columns)
    comps = response_components(run.incidents)
    assert run.incidents["type"].isin(("fire", "gas_fire")).any()
    c = standards_compliance(comps)["nfpa_full_alarm"]
    assert (c.recorded, c.n, c.n_unmeasured, c.share, c.share_lower, c.passed) == (False, 0, 0, None, None, None)
    assert standards_compliance(comps)["gb51080"].recorded  # the others as before
    h = headline(run, horizon_s=1000.0, standards=Standards())
    assert h["nfpa_full_alarm_compliance_lower"] is None
    assert h["nfpa_full_alarm_n"] is None and h["nfpa_full_alarm_n_unmeasured"] is None  # unknown, not 0
    new = write_run_folder(tmp_path / "new")  # the same rows with the columns, empty: every card incomplete
    c = standards_compliance(response_components(load_run(new).incidents))["nfpa_full_alarm"]
    assert c.recorded and c.n == 0 and c.n_unmeasured > 0 and c.share_lower == 0.0


def test_compliance_passes_at_the_fractile_and_follows_the_standards() -> None:
    comps = components_frame(["fire"] * 10, dispatch_to_arrival=[100.0] * 9 + [1000.0])
    assert standards_compliance(comps)["gb51080"].passed is True  # 9 of 10 = 90 %
    assert standards_compliance(comps, {"fractile": 0.95})["gb51080"].passed is False
    assert standards_compliance(comps, SimpleNamespace(gb51080_dispatch_to_arrival_s=1000.0, fractile=1.0))[
        "gb51080"].passed is True
    empty = standards_compliance(comps.iloc[:0])["gb51080"]
    assert (empty.n, empty.share, empty.passed, empty.value_at_fractile) == (0, None, None, None)
    with pytest.raises(ValueError, match="fractile"):
        Standards(fractile=1.5)


def test_outcomes_and_per_type_table() -> None:
    inc = pd.DataFrame(SAMPLE_INCIDENTS)
    assert outcome_counts(inc) == {
        "n_incidents": 9, "n_resolved": 7, "n_unserved": 1, "n_open_at_end": 1,
        "n_reached": 7, "n_not_reached": 2, "n_open_not_reached": 1,
    }
    t = response_table(response_components(inc))
    assert list(t.index) == ["fire", "medical", "rescue", "water_main_break"]
    assert t.loc["medical", ["n", "n_reached", "n_unserved"]].tolist() == [4, 3, 1]
    assert t.loc["fire", "n_open_at_end"] == 1
    assert t.loc["medical", "travel_p90"] == 270.0  # travel 175, 270, 200
    assert t.loc["water_main_break", "turnout_p50"] == 600.0


# ------------------------------------------------------------ resilience
def test_half_outage_for_200_s_gives_exact_metrics() -> None:
    curve = service_curve(service_frame(HALF_OUTAGE), 1000.0)
    assert resilience_loss(curve) == 100.0
    assert min_served(curve) == (0.5, 100.0)
    rec = recovery(curve)
    assert (rec.t_disrupted_s, rec.t_recovered_s, rec.time_to_recover_s) == (100.0, 300.0, 200.0)
    assert customer_hours_lost(curve) == pytest.approx(500 * 200 / 3600)
    idx = outage_indices(curve)
    assert idx.customers_interrupted == 500 and idx.saifi == 0.5
    assert idx.saidi_h == pytest.approx(100 / 3600) and idx.caidi_h == pytest.approx(200 / 3600)
    assert idx.asai == pytest.approx(0.9)
    res = service_resilience(service_frame(HALF_OUTAGE), 1000.0)
    assert res.resilience_loss_h == pytest.approx(100 / 3600) and res.resilience_loss_pct == pytest.approx(10.0)
    assert res.mean_served == pytest.approx(0.9)


def test_no_water_events_means_no_loss() -> None:
    res = service_resilience(service_frame(HALF_OUTAGE[:1]), 86400.0)
    assert (res.resilience_loss_s, res.min_served, res.customer_hours_lost, res.time_to_recover_s) == (
        0.0, 1.0, 0.0, 0.0)
    assert res.saifi == 0.0 and res.caidi_h is None and res.t_disrupted_s is None
    empty = service_resilience(service_frame([]), 3600.0)
    assert empty.resilience_loss_s == 0.0 and empty.saifi is None


def test_outage_open_at_the_horizon_is_not_recovered() -> None:
    rows = [(0.0, "water", 1.0, 0, 10, ""), (500.0, "water", 0.8, 2, 10, "")]
    res = service_resilience(service_frame(rows), 1000.0)
    assert res.resilience_loss_s == pytest.approx(100.0)
    assert (res.t_disrupted_s, res.t_recovered_s, res.time_to_recover_s) == (500.0, None, None)


def test_recovery_spans_first_drop_to_last_return_and_counts_each_interruption() -> None:
    rows = [
        (0.0, "water", 1.0, 0, 100, ""), (100.0, "water", 0.9, 10, 100, ""), (200.0, "water", 1.0, 0, 100, ""),
        (400.0, "water", 0.8, 20, 100, ""), (500.0, "water", 0.7, 30, 100, ""), (600.0, "water", 1.0, 0, 100, ""),
    ]
    res = service_resilience(service_frame(rows), 1000.0)
    assert res.resilience_loss_s == pytest.approx(10 + 20 + 30)
    assert res.time_to_recover_s == 500.0 and (res.min_served, res.t_min_s) == (0.7, 500.0)
    assert res.customers_interrupted == 40 and res.saifi == pytest.approx(0.4)


def test_curve_uses_the_last_row_at_a_time_and_ignores_rows_past_the_horizon() -> None:
    rows = [
        (50.0, "water", 0.5, 5, 10, ""), (50.0, "water", 0.6, 4, 10, ""), (80.0, "power", 0.0, 9, 9, ""),
        (1000.0, "water", 0.0, 10, 10, ""),
    ]
    curve = service_curve(service_frame(rows), 1000.0)
    assert curve.t_s.tolist() == [0.0, 50.0] and curve.served.tolist() == [1.0, 0.6]
    assert resilience_loss(curve) == pytest.approx(0.4 * 950)


def test_exact_counts_refine_the_rounded_fraction() -> None:
    rows = [(0.0, "water", 1.0, 0, 3, ""), (0.0, "water", 0.667, 1, 3, "")]
    curve = service_curve(service_frame(rows), 300.0)
    assert resilience_loss(curve) == pytest.approx(100.0)
    odd = service_frame([(0.0, "water", 0.25, 1, 3, "")])  # counts disagree: the written fraction wins
    assert resilience_loss(service_curve(odd, 100.0)) == pytest.approx(75.0)


@given(
    st.integers(1, 500),
    st.lists(st.tuples(st.integers(0, 499), st.integers(0, 1000)), max_size=25),
)
@settings(max_examples=150, deadline=None)
def test_resilience_loss_is_horizon_times_mean_shortfall(horizon: int, steps: list[tuple[int, int]]) -> None:
    """RL ∈ [0, H] and RL = H·(1 − mean Q), mean Q taken from unit-interval midpoints."""
    rows = [(float(t), "water", q / 1000.0, 0, 0, "") for t, q in sorted(steps, key=lambda s: s[0])]
    curve = service_curve(service_frame(rows), float(horizon))
    rl = resilience_loss(curve)
    assert 0.0 <= rl <= horizon

    def q_at(t: float) -> float:
        value = 1.0
        for ts, _, q, *_ in rows:  # rows sorted by time; the last at or before t wins
            if ts <= t:
                value = q
        return value

    mean_q = sum(q_at(k + 0.5) for k in range(horizon)) / horizon
    assert math.isclose(rl, horizon * (1.0 - mean_q), rel_tol=1e-9, abs_tol=1e-9)


# ------------------------------------------------------------ headline
def test_headline_is_flat_json_with_the_documented_keys(tmp_path: Path) -> None:
    run = load_run(write_run_folder(tmp_path / "run"))
    h = headline(run, horizon_s=1000.0, standards=Standards())
    json.dumps(h, allow_nan=False)
    assert all(isinstance(v, int | float | bool) or v is None for v in h.values())
    assert (h["n_incidents"], h["n_unserved"], h["n_open_at_end"], h["n_not_reached"]) == (9, 1, 1, 2)
    assert h["n_emergency"] == 8
    assert (h["response_p50_s"], h["response_p90_s"]) == (360.0, 460.0)  # 300 330 360 400 400 460
    assert h["dispatch_to_arrival_p90_s"] == 350.0
    assert h["gb51080_compliance"] == pytest.approx(2 / 3) and h["gb51080_pass"] is False
    assert h["nfpa_travel_compliance"] == pytest.approx(4 / 6)
    assert h["water_resilience_loss_h"] == pytest.approx(100 / 3600)
    assert h["water_min_served"] == 0.5 and h["water_time_to_recover_s"] == 200.0
    assert h["water_customer_hours_lost"] == pytest.approx(500 * 200 / 3600)
    # The horizon falls back to summary.json, then to the horizon event.
    assert headline(run)["horizon_s"] == 3600.0
    assert headline(run, summary={"horizon_s": 1000.0})["water_resilience_loss_pct"] == pytest.approx(10.0)


def test_an_expressway_viaduct_is_drawn_as_expressway_and_river_bridges_as_bridges() -> None:
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    from analysis.citymap import _draw_roads

    nodes = pd.DataFrame({"node": [0, 1, 2, 3], "x_m": [0.0, 500.0, 0.0, 500.0], "y_m": [0.0, 0.0, 500.0, 500.0]})
    links = pd.DataFrame({"u": [0, 2], "v": [1, 3], "road_class": [0, 1], "bridge": [1, 1], "tunnel": [0, 0],
                          "underpass": [0, 0]})  # an expressway viaduct and an arterial river bridge
    fig, ax = plt.subplots()
    try:
        _draw_roads(ax, nodes, links)
        bridge = [ln for ln in ax.lines if ln.get_color() == "#e08214"]
        assert len(bridge) == 1
        ys = np.asarray(bridge[0].get_ydata(), float)
        assert set(ys[np.isfinite(ys)]) == {0.5}  # only the arterial (y = 500 m), not the viaduct at y = 0
    finally:
        plt.close(fig)


def test_stations_on_one_corner_are_drawn_round_it_and_others_stay_put() -> None:
    import numpy as np
    import pandas as pd

    from analysis.citymap import _spread_shared

    nodes = pd.DataFrame({"node": [0, 1], "x_m": [0.0, 8000.0], "y_m": [0.0, 7000.0]})
    st = pd.DataFrame({"station": ["WD01", "PD01", "GD01", "FS01"], "kind": ["water_depot", "power_depot",
                       "gas_depot", "fire"], "x_m": [3500.0, 3500.0, 3500.0, 100.0], "y_m": [3200.0] * 3 + [50.0]})
    out = _spread_shared(st, nodes)
    xy = out[["x_m", "y_m"]].to_numpy(float)
    assert tuple(xy[3]) == (100.0, 50.0)  # alone on its corner: where it is
    d = np.hypot(xy[:3, 0] - 3500.0, xy[:3, 1] - 3200.0)
    assert np.allclose(d, 0.015 * 8000.0)  # the three depots on a ring round their corner ...
    assert len({(round(a, 3), round(b, 3)) for a, b in xy[:3]}) == 3  # ... each at its own place
    assert _spread_shared(st.iloc[[0, 3]], nodes).equals(st.iloc[[0, 3]])


def test_an_outage_starting_as_another_ends_counts_as_an_interruption() -> None:
    """Two rows at one instant (one main restored, another shut) are one step of Q(t) but two changes:
    the newly cut-off customers count in SAIFI (IEEE 1366), the step function is unchanged."""
    rows = [
        (0.0, "water", 1.0, 0, 100, "start"), (100.0, "water", 0.9, 10, 100, "water.pipe.P1 isolated"),
        (300.0, "water", 1.0, 0, 100, "water.pipe.P1 restored"),
        (300.0, "water", 0.9, 10, 100, "water.pipe.P2 isolated"), (500.0, "water", 1.0, 0, 100, "restored"),
    ]
    res = service_resilience(service_frame(rows), 1000.0)
    assert res.customers_interrupted == 20 and res.saifi == pytest.approx(0.2)
    assert res.resilience_loss_s == pytest.approx(0.1 * 400.0)
    assert res.caidi_h == pytest.approx(10 * 400.0 / 20 / 3600.0)
