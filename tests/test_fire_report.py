"""E-bike fires end to end: a run folder, its fire table, headline and report."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import load_run
from analysis.fire import fire_headline, fire_table
from sim.config import Config
from sim.fire_config import FireSpec
from sim.runner import simulate


def fire_config(**interventions: bool) -> Config:
    cfg = Config()
    cfg.scenario.name = "ebike_fire"
    cfg.run.horizon_s = 4 * 3600.0
    cfg.calls.enabled = False
    cfg.scenario.ebike_fire.fires = [
        FireSpec(building="HR0001", t_s=1800.0, location="parking", shaft=True),
        FireSpec(building="HR0100", t_s=3600.0, location="corridor", floor=9),
    ]
    for k, v in interventions.items():
        setattr(cfg.policy.interventions, k, v)
    return cfg


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fire_runs")
    out = {}
    for name, cfg in (("a", fire_config()), ("b", fire_config()), ("street", fire_config(street_stations=True))):
        cfg.run.report = name == "a"
        simulate(cfg, root / name)
        out[name] = root / name
    return out


def test_fire_table_matches_the_events(runs: dict[str, Path]) -> None:
    run = load_run(runs["a"])
    t = fire_table(run)
    assert list(t["building"]) == ["HR0001", "HR0100"]
    assert list(t["location"]) == ["parking", "corridor"]
    fw = run.events[run.events["kind"] == "first_water"].set_index("incident")["value"]
    for r in t.itertuples():
        assert r.first_water_after_ignition_s == pytest.approx(fw[r.incident], abs=1e-3)
        assert r.t_ignite_s <= r.t_detect_s <= r.t_report_s <= r.t_arrival_s <= r.t_first_water_s
    h = fire_headline(run)
    assert h["fire_n"] == 2
    assert h["fire_casualties_total"] == pytest.approx(t["casualties"].sum())
    assert h["fire_first_water_mean_s"] == pytest.approx(t["first_water_after_ignition_s"].mean())


def test_summary_and_report_carry_the_fire_metrics(runs: dict[str, Path]) -> None:
    import json

    summary = json.loads((runs["a"] / "summary.json").read_text())
    assert summary["metrics"]["fire_n"] == 2
    md = (runs["a"] / "report.md").read_text()
    assert "E-bike fires" in md and "fire_timeline.png" in md
    assert (runs["a"] / "figures" / "fire_timeline.png").stat().st_size > 1000


def test_same_seed_gives_byte_identical_tables(runs: dict[str, Path]) -> None:
    for name in ("events.csv", "incidents.csv", "hazards.csv"):
        assert (runs["a"] / name).read_bytes() == (runs["b"] / name).read_bytes()


def test_street_stations_change_water_not_hazards(runs: dict[str, Path]) -> None:
    assert (runs["a"] / "hazards.csv").read_bytes() == (runs["street"] / "hazards.csv").read_bytes()
    base, street = fire_table(load_run(runs["a"])), fire_table(load_run(runs["street"]))
    assert (pd.to_numeric(street["t_ignite_s"]) == pd.to_numeric(base["t_ignite_s"])).all()
    # Where the building has pressure the street team is first; otherwise nothing changes.
    for b, s in zip(base.itertuples(), street.itertuples(), strict=True):
        assert s.t_first_water_s <= b.t_first_water_s


def test_fire_policies_combine_and_the_case_composes(tmp_path: Path) -> None:
    from tests.test_config import make

    cfg = make(["scenario=ebike_fire", "policy=[baseline,charging_piles,sprinklers]"])
    iv = cfg.policy.interventions
    assert iv.charging_piles and iv.sprinklers and not iv.street_stations
    assert cfg.policy.dispatch.run_cards["highrise_fire"] == {"engine": 3, "ladder": 1, "rescue": 1}
    case = make(["scenario=ebike_fire_case_0223"])
    assert case.run.start == "2024-02-23T04:00:00"
    (fire,) = case.scenario.ebike_fire.fires
    assert (fire.location, fire.shaft, fire.alarm_works, fire.floors) == ("parking", True, False, 34)


def test_case_replay_reports_model_beside_published_facts(tmp_path: Path) -> None:
    from tests.test_config import make

    cfg = make(["scenario=ebike_fire_case_0223", "run.horizon_s=10800", "calls.enabled=false"])
    simulate(cfg, tmp_path / "case")
    md = (tmp_path / "case" / "report.md").read_text()
    assert "coarse reconstruction" in md
    assert "call reaches dispatch 04:39:00" in md and "published: alarm received 04:39" in md
    t = fire_table(load_run(tmp_path / "case"))
    assert list(t["detected_by"]) == ["discovered (no working alarm)"]
    assert list(t["route"]) == ["shaft"]


def test_many_fires_keep_the_timing_invariants(tmp_path: Path) -> None:
    """A busy fire day on the default district: order of the fire events for every fire."""
    cfg = Config(seed=3)
    cfg.scenario.name = "ebike_fire"
    cfg.scenario.ebike_fire.rate_multiplier = 5000.0
    cfg.run.horizon_s = 6 * 3600.0
    cfg.run.report = False
    simulate(cfg, tmp_path / "busy")
    run = load_run(tmp_path / "busy")
    t = fire_table(run)
    assert len(t) >= 5
    setup = cfg.policy.fire.setup_s
    relay = cfg.policy.fire.relay_s
    ev = run.events
    for r in t.itertuples():
        unt = ev[(ev["kind"] == "untenable") & (ev["incident"] == r.incident)]["t_s"]
        assert (unt >= r.t_ignite_s).all()
        if r.t_first_water_s is not None and not pd.isna(r.t_first_water_s):
            extra = relay if "relay" in r.water_via else 0.0
            assert r.t_first_water_s == pytest.approx(r.t_arrival_s + setup + extra, abs=1e-6)
            assert (unt <= r.t_first_water_s + cfg.policy.fire.knockdown_s + 1e-6).all()
