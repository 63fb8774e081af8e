"""Drill scripts of rainstorms at the edges: a warning that changes nothing, rain that floods nothing.

Each run goes through the command line (``python -m sim``) on the default
city, as a user makes it, so the run folder holds what Hydra writes
(``.hydra/config.yaml``, where the size of the pump-truck fleet is recorded).
Runs are short: the storm starts early and the horizon ends soon after it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analysis.drill import Drill, DrillOptions, build_drill
from analysis.drill_playbook import load_playbook
from analysis.rundir import load_run

FLOOD = ["scenario=waterlogging", "scenario.waterlogging.dry_twin=false", "run.report=false", "seed=0"]
WARN = "policy=[baseline,early_warning]"
# a one-hour 50-year storm from 07:00 (peak 07:20, warning 06:20 with a 1 h lead)
STORM = ["scenario.waterlogging.storm.duration_min=60", "scenario.waterlogging.storm.start_s=3600",
         "run.horizon_s=9000"]
RUNS: dict[str, list[str]] = {
    # the early warning issued, both of its actions turned off
    "warned_idle": [*FLOOD, WARN, *STORM, "policy.early_warning.close_underpasses=false",
                    "policy.early_warning.preposition_pumps=false"],
    # only the pump trucks move at the warning
    "warned_pumps": [*FLOOD, WARN, *STORM, "policy.early_warning.close_underpasses=false"],
    # the storm starts 10 min in: the warning (lead 1 h) is capped at the start of the run, before the rain
    "warned_capped": [*FLOOD, WARN, "scenario.waterlogging.storm.duration_min=60",
                      "scenario.waterlogging.storm.start_s=600", "run.horizon_s=5400",
                      "policy.early_warning.preposition_pumps=false"],
    # about 4 mm in 20 min: no flooding point anywhere
    "shower": [*FLOOD, "scenario.waterlogging.storm.return_period_yr=0.1", "scenario.waterlogging.storm.duration_min=20",
               "scenario.waterlogging.storm.start_s=600", "run.horizon_s=3600"],
    # no rain at all
    "burst": ["scenario=pipe_burst", "run.report=false", "seed=0", "run.horizon_s=14400"],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flood_edges")
    procs = {}
    for name, args in RUNS.items():
        procs[name] = subprocess.Popen([sys.executable, "-m", "sim", *args, f"hydra.run.dir={root / name}"],
                                       cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name, p in procs.items():
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, (name, err[-3000:])
    return {name: root / name for name in RUNS}


@pytest.fixture(scope="module")
def drills(runs: dict[str, Path]) -> dict[tuple[str, str], Drill]:
    pb = load_playbook()
    return {(name, lang): build_drill(load_run(path), DrillOptions(lang=lang), pb)
            for name, path in runs.items() for lang in ("zh", "en")}


def _storm_line(drill: Drill, lang: str) -> str:
    words = ("降雨", "雨停") if lang == "zh" else (" rain", "storm")
    lines = [s for s in drill.scenario if any(w in s for w in words)]
    assert len(lines) == 1, drill.scenario
    return lines[0]


def _counts(run_dir: Path) -> dict[str, int]:
    run = load_run(run_dir)
    ev, inc = run.events, run.incidents
    pre = ev[(ev["kind"] == "road_close") & ev["note"].str.startswith("early warning")]
    points = set(ev.loc[ev["kind"] == "flood_point", "scope"])
    pumps = inc[inc["type"] == "flood_pumping"]
    # pump trucks sent before their spot flooded: at the warning
    first = ev[ev["kind"] == "flood_point"].groupby("scope")["t_s"].min()
    early = [s for s, t in zip(pumps["scope"], pumps["t_report_s"], strict=True)
             if s not in points or first[s] > t]
    return {"preclosed": int(pre["scope"].nunique()), "prepositioned": len(early), "points": len(points)}


def test_a_warning_without_its_actions_says_nothing_was_done(runs: dict[str, Path], drills: dict) -> None:
    n = _counts(runs["warned_idle"])
    assert n["preclosed"] == 0 and n["prepositioned"] == 0 and n["points"] > 0
    zh, en = _storm_line(drills[("warned_idle", "zh")], "zh"), _storm_line(drills[("warned_idle", "en")], "en")
    assert "发布预警" in zh and "预置排涝车" not in zh and "提前封闭" not in zh
    assert "下穿通道未预先封闭，排涝车未预置" in zh
    assert "warned at" in en and "pre-positioned" in en and "0 underpasses" not in en
    assert "no underpass was closed and no pump truck pre-positioned" in en
    for lang in ("zh", "en"):
        note = next(i.notes for i in drills[("warned_idle", lang)].injects if i.rule == "rain_warning")
        assert "0处" not in note and "0 underpasses" not in note, note


def test_a_warning_that_only_moves_pump_trucks_says_so(runs: dict[str, Path], drills: dict) -> None:
    n = _counts(runs["warned_pumps"])
    assert n["preclosed"] == 0 and n["prepositioned"] > 0
    zh, en = _storm_line(drills[("warned_pumps", "zh")], "zh"), _storm_line(drills[("warned_pumps", "en")], "en")
    assert f"预置{n['prepositioned']}台排涝车" in zh and "下穿通道未预先封闭" in zh
    assert f"{n['prepositioned']} pump trucks were sent" in en and "the underpasses stayed open" in en


def test_a_warning_capped_at_the_start_still_comes_before_the_rain(runs: dict[str, Path], drills: dict) -> None:
    ev = load_run(runs["warned_capped"]).events
    warn = float(ev.loc[ev["kind"] == "warning", "t_s"].iloc[0])
    rain = float(ev.loc[ev["kind"] == "rain_start", "t_s"].iloc[0])
    assert warn == 0.0 and rain == 600.0
    n = _counts(runs["warned_capped"])
    assert n["preclosed"] > 0 and n["prepositioned"] == 0
    zh, en = _storm_line(drills[("warned_capped", "zh")], "zh"), _storm_line(drills[("warned_capped", "en")], "en")
    # 06:10 rain, peak 06:30, warned 06:00: 30 min before the peak
    assert zh.startswith("06:10起") and "市气象台于06:00（雨峰前30分钟）发布预警" in zh
    assert f"提前封闭{n['preclosed']}处下穿通道，排涝车未预置" in zh
    assert "warned at 06:00 (30 min before the peak)" in en
    assert f"{n['preclosed']} underpasses were closed to traffic; no pump truck was pre-positioned" in en
    for lang in ("zh", "en"):
        drill = drills[("warned_capped", lang)]
        by_rule = {i.rule: i for i in drill.injects}
        assert by_rule["rain_warning"].t_s < by_rule["rain_onset"].t_s


def test_rain_that_floods_nothing_reads_as_such(runs: dict[str, Path], drills: dict) -> None:
    run = load_run(runs["shower"])
    ev = run.events
    assert not (ev["kind"] == "flood_point").any() and (ev["kind"] == "rain_start").any()
    total = round(float(ev.loc[ev["kind"] == "rain_start", "value"].iloc[0]))
    assert total == 4
    zh, en = _storm_line(drills[("shower", "zh")], "zh"), _storm_line(drills[("shower", "en")], "en")
    for bad in ("强降雨", "短历时", "首个积淹水点", "不详", "0台排涝车", "积水全部消退", "最深约"):
        assert bad not in zh, (bad, zh)
    for bad in ("intense", "heavy", "unknown", "first flooding point", "0 pump trucks", "water was gone",
                "deepest"):
        assert bad not in en, (bad, en)
    assert f"累计雨量约{total}毫米" in zh and "未出现积淹水点" in zh and "未达到暴雨预警信号发布标准" in zh
    assert f"about {total} mm" in en and "no flooding point formed" in en
    # the fleet is the city's (4 trucks at the fire stations), not the trucks seen in events.csv
    assert "4台排涝车均未接到抢排任务" in zh and "none of the 4 pump trucks was called out" in en
    for lang in ("zh", "en"):
        by_rule = {i.rule: i for i in drills[("shower", lang)].injects}
        assert "rain_onset" not in by_rule and "flood_over_command" not in by_rule and "rain_over" not in by_rule
        assert {"rain_onset_light", "rain_over_dry"} <= set(by_rule)
    onset = {lang: {i.rule: i for i in drills[("shower", lang)].injects}["rain_onset_light"].message
             for lang in ("zh", "en")}
    assert "强降雨" not in onset["zh"] and "heavy" not in onset["en"]
    assert f"累计雨量约{total}毫米" in onset["zh"] and f"about {total} mm" in onset["en"]


def test_a_run_without_rain_has_no_storm_text(drills: dict) -> None:
    for lang, words in (("zh", ("降雨", "积淹水", "排涝", "暴雨")), ("en", ("rain", "flooding point", "pump truck"))):
        drill = drills[("burst", lang)]
        assert not [s for s in drill.scenario if any(w in s for w in words)], drill.scenario
        assert not [i for i in drill.injects + drill.contingencies if i.hazard], drill.injects
