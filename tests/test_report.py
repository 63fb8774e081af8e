"""The per-run report on hand-built run folders: files, self-containment, atomic writes."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path
from typing import Any

import pytest

from analysis import headline, load_run, write_report
from tests.test_analysis import HALF_OUTAGE, write_run_folder

PNG = b"\x89PNG\r\n\x1a\n"
FIGURES = ("response_times.png", "water_service.png", "map.png")
STANDARDS = {
    "gb51080_dispatch_to_arrival_s": 300.0,
    "nfpa1710_turnout_fire_s": 80.0,
    "nfpa1710_turnout_ems_s": 60.0,
    "nfpa1710_travel_s": 240.0,
    "fractile": 0.9,
}
FACTS = {
    "city": {"name": "Testville", "population": 3000},
    "scenario": "pipe_burst",
    "policy": "baseline",
    "seed": 11,
    "run_start": "2026-07-15T06:00:00",
    "timezone": "Asia/Shanghai",
    "status": "running",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    d = write_run_folder(tmp_path_factory.mktemp("runs") / "run")
    return d, write_report(d, horizon_s=3600.0, standards=STANDARDS, summary=FACTS)


def leftovers(d: Path) -> list[Path]:
    return [p for p in d.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]


def test_report_writes_every_file(report: tuple[Path, dict[str, Any]]) -> None:
    d, result = report
    assert result["files"] == [f"figures/{f}" for f in FIGURES] + ["report.md", "report.html"]
    for name in result["files"]:
        assert (d / name).is_file(), name
    for f in FIGURES:
        data = (d / "figures" / f).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, f
    assert not leftovers(d), "temporary files left behind"


def test_html_is_self_contained_with_headline_and_three_images(report: tuple[Path, dict[str, Any]]) -> None:
    d, _ = report
    html = (d / "report.html").read_text(encoding="utf-8")
    assert 'id="headline"' in html
    uris = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(uris) == 3 and html.count("data:image/png;base64,") == 3
    assert [base64.b64decode(u) for u in uris] == [(d / "figures" / f).read_bytes() for f in FIGURES]
    for external in ('src="http', "href=\"http", "figures/", "<script", "<link", "@import", "url("):
        assert external not in html, external
    for text in ("Testville", "pipe_burst", "baseline", "seed 11", "2026-07-15 06:00 to 2026-07-15 07:00 (Asia/Shanghai)",
                 "GB 51080", "NFPA 1710", "Resilience loss", "Customer-hours lost", "Never reached",
                 'id="by-type"', "66.7 % met", "water main break"):
        assert text in html, text
    assert "running" not in html  # the summary's interim status is not a run fact


def test_markdown_has_the_headline_and_links_the_figures(report: tuple[Path, dict[str, Any]]) -> None:
    d, _ = report
    md = (d / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Testville")
    assert "| Metric | Value | Note |" in md and "| Unserved | 1 |" in md
    for f in FIGURES:
        assert f"(figures/{f})" in md
    assert "| Time to recover | 3:20 |" in md  # the 200 s half outage


def test_report_metrics_are_the_headline(report: tuple[Path, dict[str, Any]]) -> None:
    d, result = report
    assert result["metrics"] == headline(load_run(d), horizon_s=3600.0, standards=STANDARDS)
    assert result["metrics"]["water_resilience_loss_s"] == 100.0


def test_report_without_summary_city_or_water_events(tmp_path: Path) -> None:
    d = write_run_folder(tmp_path / "run", service=HALF_OUTAGE[:1], events=[], city=False, horizon_s=7200.0)
    result = write_report(d)
    assert result["metrics"]["horizon_s"] == 7200.0
    assert result["metrics"]["water_resilience_loss_h"] == 0.0
    assert result["metrics"]["water_time_to_recover_s"] == 0.0
    html = (d / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 3
    assert "service never dropped" in html and "0 h" in html
    assert not leftovers(d)


def test_a_failed_write_keeps_the_previous_report_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = write_run_folder(tmp_path / "run", incidents=[], city=False)
    write_report(d)
    before = (d / "report.html").read_bytes()
    real_replace = os.replace

    def failing_replace(src: Any, dst: Any) -> None:
        if str(dst).endswith("report.html"):
            raise OSError("disk full")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(d, summary={"city": {"name": "Changed"}})
    assert (d / "report.html").read_bytes() == before
    assert not leftovers(d)


def test_names_with_dollar_signs_are_drawn_as_text(tmp_path: Path) -> None:
    # "$...$" in a city name from a config or file must not be parsed as mathtext.
    name = r"Lane $x_{$ 3"
    d = write_run_folder(tmp_path / "run", summary={"horizon_s": 3600.0, "city": {"name": name}})
    write_report(d)
    assert name in (d / "report.html").read_text(encoding="utf-8").replace("&#36;", "$")


def test_a_loaded_city_says_which_parts_were_generated(tmp_path: Path) -> None:
    city = {"name": "Town", "roads_file": "/data/town.graphml", "water_file": "/data/small.inp",
            "generated": "pipe_ages valves zones stations"}
    d = write_run_folder(tmp_path / "run", summary={"horizon_s": 3600.0, "city": city})
    write_report(d)
    for name in ("report.md", "report.html"):
        text = (d / name).read_text(encoding="utf-8")
        assert "roads town.graphml, water small.inp" in text
        assert "pipe ages, valves, zones, stations" in text


def test_a_power_outage_report_has_lifelines_and_the_cascade_tree(tmp_path: Path) -> None:
    from sim.config import Config, FaultSpec
    from sim.runner import execute, prepare

    cfg = Config()
    cfg.seed = 2
    cfg.run.horizon_s = 4 * 3600.0
    cfg.scenario.name = "power_outage"
    cfg.scenario.power_outage.faults = [FaultSpec("power.substation.S1", 1800.0)]
    d = tmp_path / "run"
    summary = execute(prepare(cfg), d)
    assert summary["status"] == "ok"
    m = summary["metrics"]
    assert m["power_customer_hours_lost"] > 0 and m["power_saifi"] > 0
    assert 0 < m["water_cascade_share"] <= 1
    md = (d / "report.md").read_text(encoding="utf-8")
    assert "## Lifelines" in md and "## Cascades" in md
    assert "- Substation S1 — incident" in md and "  - Feeder F" in md
    assert (d / "figures" / "lifelines.png").is_file()
    html = (d / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4 and "<h2>Cascades</h2>" in html


def test_water_figure_marks_only_water_mains() -> None:
    """A substation coming back is a ``restore`` record too, but not a main restored."""
    import numpy as np
    import pandas as pd

    from analysis.figures import water_service_figure
    from analysis.resilience import ServiceCurve

    curve = ServiceCurve("water", 7200.0, np.array([0.0, 1800.0, 3600.0]), np.array([1.0, 0.5, 1.0]),
                         np.array([0, 50, 0]), 100)
    events = pd.DataFrame({"t_s": [1800.0, 3600.0, 5400.0],
                           "kind": ["burst", "restore", "restore"],
                           "scope": ["water.pipe.P1", "water.pipe.P1", "power.substation.S1"]})

    def markers(ev: pd.DataFrame) -> dict[str, list[float]]:
        fig = water_service_figure(curve, ev)
        ax = fig.axes[0]
        return {str(ln.get_label()): [float(v) for v in ln.get_xdata()] for ln in ax.get_lines()
                if ln.get_label() in ("main burst", "main restored")}

    assert markers(events) == {"main burst": [0.5], "main restored": [1.0]}
    assert markers(events.iloc[[2]]) == {}


def test_a_run_card_unit_the_city_lacks_is_said_in_the_log_summary_and_report(tmp_path: Path) -> None:
    import csv
    import json

    from sim.config import Config
    from sim.runner import lacking_units, simulate

    cfg = Config()
    cfg.scenario.name = "pipe_burst"
    assert "warnings" not in simulate(cfg, tmp_path / "default")
    cfg.city.fire.ladders_per_station = 0
    summary = simulate(cfg, tmp_path / "run")
    with open(tmp_path / "run" / "incidents.csv", encoding="utf-8") as fh:
        fires = [r for r in csv.DictReader(fh) if r["type"] == "fire"]
    assert fires and not any(r["t_full_alarm_s"] for r in fires)  # never reached, so not measured
    assert summary["warnings"] == [
        f"policy.dispatch.run_cards.fire.ladder: the city has no ladder units; fire calls asked for one "
        f"{len(fires)} time(s) and got none (any other units of the card went; the full alarm is not measured)"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["warnings"] == summary["warnings"]
    md = (tmp_path / "run" / "report.md").read_text()
    assert "**Warning:** policy.dispatch.run_cards.fire.ladder: the city has no ladder units" in md
    assert "Warning" not in (tmp_path / "default" / "report.md").read_text()
    # The card named: a flood card, a fire's second alarm, or none the config holds.
    cfg = Config()
    cfg.scenario.waterlogging.trapped.run_card = {"rescue": 1, "pump_truck": 1}
    cfg.policy.fire.second_alarm = {"engine": 2, "pump_truck": 1}
    said = lacking_units(cfg, {("vehicle_trapped", "pump_truck"): 3, ("highrise_fire", "pump_truck"): 1,
                               ("flood_pumping", "ladder"): 2})
    assert [w.split(":")[0] for w in said] == ["scenario.waterlogging.trapped.run_card.pump_truck",
                                               "policy.fire.second_alarm.pump_truck", "a flood_pumping call's card"]
    assert "asked for one 3 time(s)" in said[0]
    cfg.policy.dispatch.run_cards["vehicle_trapped"] = {"engine": 1, "pump_truck": 1}  # the engine takes this one
    assert lacking_units(cfg, {("vehicle_trapped", "pump_truck"): 1})[0].startswith(
        "policy.dispatch.run_cards.vehicle_trapped.pump_truck: ")
