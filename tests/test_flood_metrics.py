"""Flood metrics on hand-built run tables, and the waterlogging report end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.flood import (
    closed_roads,
    coverage,
    flood_points,
    flooded_road_km_h,
    light_closed_at,
    link_factors_at,
    response_inflation,
)
from analysis.rundir import Run


def _events(rows: list[tuple[float, str, str, float | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["t_s", "kind", "scope", "value", "note"]).assign(incident=np.nan)


def _run(events: pd.DataFrame, incidents: pd.DataFrame | None = None) -> Run:
    nodes = pd.DataFrame({"node": [0, 1, 2], "x_m": [0.0, 1000.0, 2000.0], "y_m": [0.0, 0.0, 0.0],
                          "elev_m": [10.0, 5.0, 10.0]})
    links = pd.DataFrame({"link": [0, 1], "u": [0, 1], "v": [1, 2], "road_class": [2, 2],
                          "length_m": [1000.0, 1000.0], "speed_kmh": [36.0, 36.0]})
    stations = pd.DataFrame({"station": ["FS1"], "kind": ["fire"], "node": [0], "x_m": [0.0], "y_m": [0.0]})
    zones = pd.DataFrame({"zone": ["Z1", "Z2"], "x_m": [0.0, 2000.0], "y_m": [0.0, 0.0],
                          "population": [300, 100], "node": [0, 2]})
    inc = incidents if incidents is not None else pd.DataFrame(columns=["source", "type"])
    return Run(path=Path("."), incidents=inc, events=events, service=pd.DataFrame(), hazards=pd.DataFrame(),
               city={"nodes": nodes, "links": links, "stations": stations, "zones": zones})


def test_flooded_road_km_h_integrates_the_depth_steps() -> None:
    ev = _events([
        (0.0, "flood", "roads.link.0", 0.2, ""),
        (1800.0, "flood", "roads.link.0", 0.05, ""),
        (3600.0, "flood", "roads.link.0", 0.3, ""),
        (3600.0, "flood", "roads.link.1", 0.08, ""),
        (7200.0, "horizon", "run", 0.0, ""),
    ])
    # link 0 above 10 cm for 0.5 h + 1 h, 1 km long; link 1 never above.
    assert flooded_road_km_h(_run(ev)) == pytest.approx(1.5)
    assert flooded_road_km_h(_run(ev), threshold_m=0.25) == pytest.approx(1.0)


def test_closed_roads_counts_flood_closures_only() -> None:
    ev = _events([
        (10.0, "road_close", "roads.link.0", 0.7, "flood"),
        (10.0, "road_close", "roads.link.1", 0.7, "flood"),
        (15.0, "road_close", "roads.link.1", None, "early warning: closed to public traffic"),
        (20.0, "road_open", "roads.link.0", 0.4, "flood"),
    ])
    c = closed_roads(_run(ev))
    assert c["closed"].max() == 2
    assert c["closed"].iloc[-1] == 1


def test_closed_roads_to_light_vehicles_are_counted_apart() -> None:
    from sim.log import LIGHT_NOTE

    ev = _events([
        (10.0, "road_close", "roads.link.0", 0.35, LIGHT_NOTE),
        (12.0, "road_close", "roads.link.1", 0.35, LIGHT_NOTE),
        (20.0, "road_close", "roads.link.0", 0.65, "flood"),
        (30.0, "road_open", "roads.link.0", 0.5, "flood"),
        (40.0, "road_open", "roads.link.0", 0.2, LIGHT_NOTE),
    ])
    assert closed_roads(_run(ev))["closed"].max() == 1
    light = closed_roads(_run(ev), LIGHT_NOTE)
    assert light["closed"].max() == 2 and light["closed"].iloc[-1] == 1
    assert light_closed_at(_run(ev), 12.0).tolist() == [True, True]
    assert light_closed_at(_run(ev), 40.0).tolist() == [False, True]
    assert not np.isfinite(link_factors_at(_run(ev), 25.0)[0]) and np.isfinite(link_factors_at(_run(ev), 25.0)[1])


def test_flood_points_clear_time_after_rain() -> None:
    ev = _events([
        (0.0, "rain_start", "weather.rain", 50.0, ""),
        (100.0, "flood_point", "roads.node.1", 0.12, ""),
        (200.0, "flood_point", "roads.node.2", 0.15, ""),
        (300.0, "ponding", "roads.node.1", 0.4, ""),
        (5000.0, "rain_end", "weather.rain", 50.0, ""),
        (8000.0, "flood_clear", "roads.node.1", 7900.0, ""),
        (20000.0, "horizon", "run", 0.0, ""),
    ])
    p = flood_points(_run(ev)).set_index("scope")
    assert p.loc["roads.node.1", "clear_after_rain_s"] == pytest.approx(3000.0)
    assert p.loc["roads.node.1", "peak_depth_m"] == pytest.approx(0.4)
    assert bool(p.loc["roads.node.1", "met_aim"])
    assert np.isnan(p.loc["roads.node.2", "clear_after_rain_s"]) and not bool(p.loc["roads.node.2", "met_aim"])


def test_flood_points_peak_depth_skips_a_missing_depth_and_ignores_other_episodes() -> None:
    ev = _events([
        (0.0, "flood_point", "roads.node.2", 0.05, ""),
        (20.0, "ponding", "roads.node.2", None, ""),  # a hand-edited table: no depth
        (30.0, "ponding", "roads.node.2", 0.5, ""),
        (40.0, "flood_clear", "roads.node.2", 40.0, ""),
        (50.0, "ponding", "roads.node.2", 0.9, ""),  # after the clear: another episode's
        (60.0, "flood_point", "roads.node.2", 0.2, ""),
        (70.0, "ponding", "roads.node.1", 0.7, ""),  # another point's
    ])
    p = flood_points(_run(ev))
    assert p["peak_depth_m"].tolist() == [0.5, 0.2]
    assert p["t_clear_s"].iloc[0] == 40.0 and np.isnan(p["t_clear_s"].iloc[1])


def test_coverage_dry_and_with_a_closure() -> None:
    ev = _events([
        (100.0, "road_slow", "roads.link.0", 2.0, "depth_m=0.10"),
        (200.0, "road_close", "roads.link.1", 0.8, "flood"),
        (300.0, "road_open", "roads.link.1", 0.2, "flood"),
    ])
    run = _run(ev)
    # Node 0 (300 people split over nodes 0 and 1: 150 each), node 2: 100. Link times 100 s.
    assert coverage(run, None, (150.0, 250.0)) == {"within_150s": pytest.approx(0.75), "within_250s": 1.0}
    assert link_factors_at(run, 250.0).tolist() == [2.0, np.inf]
    assert coverage(run, 250.0, (150.0, 1e6)) == {"within_150s": pytest.approx(150 / 400),
                                                  "within_1000000s": pytest.approx(300 / 400)}


def test_response_inflation_pairs_the_same_calls() -> None:
    def inc(arrivals: list[float]) -> pd.DataFrame:
        return pd.DataFrame({"source": ["background", "background", "flood"], "type": ["fire", "medical", "x"],
                             "node": [1, 2, 1], "t_occur_s": [10.0, 20.0, 30.0], "t_report_s": [10.0, 20.0, 30.0],
                             "t_arrival_s": arrivals})
    wet = _run(_events([]), inc([410.0, 320.0, 100.0]))
    dry = _run(_events([]), inc([310.0, 320.0, np.nan]))
    r = response_inflation(wet, dry)
    assert r["n_pairs"] == 2 and r["mean_s"] == pytest.approx(50.0) and r["max_s"] == pytest.approx(100.0)
    # nearest-rank fractiles, values a call had: of (100, 0) the median is 0 and the p90 100 (not 50 / 90)
    assert r["median_s"] == 0.0 and r["p90_s"] == pytest.approx(100.0)
    assert response_inflation(wet, dry, (15.0, 100.0))["mean_s"] == pytest.approx(0.0)


def test_waterlogging_run_writes_the_report(tmp_path: Path) -> None:
    from sim.config import Config, ScenarioConfig
    from sim.runner import simulate

    cfg = Config()
    cfg.scenario = ScenarioConfig(name="waterlogging")
    cfg.scenario.waterlogging.storm.start_s = 1800.0
    cfg.run.horizon_s = 6 * 3600.0
    summary = simulate(cfg, tmp_path)
    f = summary["flood"]
    assert f["flood_points"] > 0 and f["peak_closed_roads"] > 0
    assert f["coverage_peak"]["within_300s"] <= f["coverage_dry"]["within_300s"]
    assert "response_inflation_all" in f
    m = summary["metrics"]
    assert m["flood_vehicles_trapped"] == f["vehicles_trapped"]
    assert m["flood_coverage_peak_within_300s"] == f["coverage_peak"]["within_300s"]
    for name in ("flood_hyetograph.png", "flood_map.png", "flood_response.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 1000
    assert "Waterlogging" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert (tmp_path / "dry" / "incidents.csv").is_file()


def test_summary_json_is_strict_json_when_a_flood_time_never_came(tmp_path) -> None:  # noqa: ANN001
    """A storm too light to flood has no peak time: null in summary.json, never a bare NaN."""
    import json

    from sim.config import Config
    from sim.runner import simulate

    cfg = Config()
    cfg.scenario.name = "waterlogging"
    cfg.scenario.waterlogging.storm.return_period_yr = 0.2
    cfg.scenario.waterlogging.storm.duration_min = 30
    cfg.scenario.waterlogging.dry_twin = False
    cfg.run.report = False
    assert simulate(cfg, tmp_path)["status"] == "ok"
    text = (tmp_path / "summary.json").read_text()
    doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary.json"))
    assert doc["flood"]["flood_peak_t_s"] is None and "NaN" not in text
