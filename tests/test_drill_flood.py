"""Drill scripts of a rainstorm: the storm's own events become injects and the scenario text.

The waterlogging scenario is simulated once without and once with the early
warning policy; the scripts must describe the storm with the run's numbers,
carry injects for its key moments (warning, first flooding point, underpass
closure, trapped vehicles, pump trucks, rain over, flood over) and point each
back at its events.csv row.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.drill import DrillOptions, build_drill
from analysis.drill_render import render_markdown, write_files
from analysis.rundir import load_run
from sim.config import Config
from sim.runner import simulate


def _simulate(root: Path, warning: bool) -> Path:
    cfg = Config()
    cfg.scenario.name = "waterlogging"
    cfg.scenario.waterlogging.dry_twin = False
    cfg.seed = 0
    cfg.run.report = False
    if warning:
        cfg.policy.name = "baseline+early_warning"
        cfg.policy.early_warning.enabled = True
    summary = simulate(cfg, root)
    assert summary["status"] == "ok", summary.get("error")
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flood_runs")
    # folder names are printed in the overview: not words the raw-key check looks for
    return {"baseline": _simulate(root / "run0", False), "warning": _simulate(root / "run1", True)}


def _storm_numbers(run_dir: Path) -> dict[str, int]:
    run = load_run(run_dir)
    ev, inc = run.events, run.incidents
    closed = ev[(ev["kind"] == "road_close") & (ev["note"] == "flood")]
    return {
        "rain": round(float(ev.loc[ev["kind"] == "rain_start", "value"].iloc[0])),
        "points": int((ev["kind"] == "flood_point").sum()),
        "closed": int(closed["scope"].nunique()),
        "trapped": int((inc["type"] == "vehicle_trapped").sum()),
        "pumping": int((inc["type"] == "flood_pumping").sum()),
    }


@pytest.mark.parametrize("name", ["baseline", "warning"])
def test_scenario_text_describes_the_storm_with_the_runs_numbers(runs: dict[str, Path], drills: dict,
                                                                 name: str) -> None:
    n = _storm_numbers(runs[name])
    assert n["points"] > 0 and n["closed"] > 0
    zh = drills[(name, "zh")]
    storm = next(line for line in zh.scenario if "强降雨" in line)
    assert f"累计雨量约{n['rain']}毫米" in storm
    assert f"全区共{n['points']}处" in storm and f"{n['closed']}个路段因积水过深封闭" in storm
    assert f"共接到{n['pumping']}处抢排任务" in storm
    trapped = f"{n['trapped']}辆车在" if n["trapped"] else "无车辆涉水被困"
    assert trapped in storm
    assert ("发布预警" in storm) == (name == "warning")
    if name == "warning":  # what the warning did, counted from the events
        ev = load_run(runs[name]).events
        pre = ev.loc[(ev["kind"] == "road_close") & ev["note"].str.startswith("early warning"), "scope"].nunique()
        assert pre > 0 and f"提前封闭{pre}处下穿通道，并预置" in storm
    # the knock-on line now follows the storm it refers to
    assert zh.scenario.index(storm) < next(i for i, s in enumerate(zh.scenario) if s.startswith("由上述事件引发"))
    assert zh.title.startswith("模拟城区（参照鼓楼区）暴雨城市内涝")
    en = drills[(name, "en")]
    storm_en = next(line for line in en.scenario if "intense storm" in line)
    assert f"about {n['rain']} mm in all" in storm_en and f"{n['points']} in all" in storm_en


def test_baseline_script_carries_the_key_flood_moments(runs: dict[str, Path], drills: dict) -> None:
    ev = load_run(runs["baseline"]).events
    for lang in ("zh", "en"):
        drill = drills[("baseline", lang)]
        by_rule = {i.rule: i for i in drill.injects}
        assert {"rain_onset", "first_flood_point", "underpass_flooded", "vehicles_trapped_order", "no_pump_truck",
                "rain_over", "flood_over_command"} <= set(by_rule)
        assert "rain_warning" not in by_rule  # no warning without the policy
        first = ev[ev["kind"] == "flood_point"].iloc[0]
        assert by_rule["first_flood_point"].event_t_s == pytest.approx(float(first["t_s"]))
        assert {"traffic_police", "fire_station", "street_station", "district_command"} <= {
            i.receiver for i in drill.injects}
        assert not drill.warnings
    zh = {i.rule: i for i in drills[("baseline", "zh")].injects}
    assert "下穿通道" in zh["underpass_flooded"].message and "排涝车" in zh["no_pump_truck"].message


def test_warning_script_starts_from_the_warning_and_closes_the_underpasses(runs: dict[str, Path],
                                                                           drills: dict) -> None:
    ev = load_run(runs["warning"]).events
    warn = ev[ev["kind"] == "warning"].iloc[0]
    pre = ev[(ev["kind"] == "road_close") & ev["note"].astype(str).str.startswith("early warning")]
    for lang in ("zh", "en"):
        drill = drills[("warning", lang)]
        by_rule = {i.rule: i for i in drill.injects}
        assert {"rain_warning", "rain_warning_street", "underpass_preclosed"} <= set(by_rule)
        assert by_rule["rain_warning"].event_t_s == pytest.approx(float(warn["t_s"]))
        assert min(i.t_s for i in drill.injects) <= float(warn["t_s"])
        assert str(len(pre)) in by_rule["underpass_preclosed"].message
    zh = {i.rule: i for i in drills[("warning", "zh")].injects}
    assert "暴雨红色预警信号" in zh["rain_warning"].message  # 115 mm in 2 h: over 100 mm in 3 h


@pytest.mark.parametrize("name", ["baseline", "warning"])
def test_every_inject_maps_back_to_its_event(runs: dict[str, Path], drills: dict, name: str) -> None:
    ev = load_run(runs[name]).events
    for lang in ("zh", "en"):
        for inj in drills[(name, lang)].injects + drills[(name, lang)].contingencies:
            row = ev.iloc[inj.event_index]
            assert row["kind"] == inj.event_kind and str(row["scope"]) == inj.event_scope
            assert float(row["t_s"]) == pytest.approx(inj.event_t_s)
            if inj.incident < 0:  # the storm's own events carry no incident
                assert pd.isna(row["incident"]) and inj.hazard == "H1"
            else:
                assert int(row["incident"]) == inj.incident and inj.hazard == ""
            assert inj.t_s >= inj.event_t_s


@pytest.mark.parametrize("name", ["baseline", "warning"])
def test_no_raw_keys_in_the_chinese_script(drills: dict, playbook: dict, name: str) -> None:
    drill = drills[(name, "zh")]
    keys = {"waterlogging", "early_warning", "rainstorm", "vehicle_trapped", "people_trapped", "flood_pumping",
            "pump_truck", "rain_start", "flood_point", "unknown", "不详"}
    for section in ("roles", "senders", "modes", "events", "incident_types", "unit_kinds", "scenarios", "policies"):
        keys |= {str(k) for k in playbook[section] if len(str(k)) > 3}
    texts = [drill.title, *drill.scenario, *drill.objectives, *(v for _, v in drill.overview)]
    for inj in drill.injects + drill.contingencies:
        texts += [inj.message, *inj.actions, inj.objective_text, inj.target_text, inj.notes, inj.trigger]
    for text in texts:
        for key in keys:
            assert not re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", text), (key, text)
        assert "{" not in text and "units." not in text and "nan" not in text, text
    c = next(c for c in drill.checklist if c.applies_to.startswith("暴雨内涝"))
    assert "H1" in c.applies_to


def test_what_the_runs_produce_is_named(runs: dict[str, Path], playbook: dict) -> None:
    """Unit kinds and incident types created while running (pump trucks exist only with rain)."""
    for path in runs.values():
        run = load_run(path)
        kinds = {s.split(".")[1] for s in run.events["scope"].astype(str) if s.startswith("units.")}
        assert "pump_truck" in kinds
        assert not kinds - set(playbook["unit_kinds"]), kinds - set(playbook["unit_kinds"])
        types = set(run.incidents["type"].astype(str))
        assert not types - set(playbook["incident_types"]), types - set(playbook["incident_types"])


def test_flood_script_is_deterministic(runs: dict[str, Path], playbook: dict, tmp_path: Path) -> None:
    for lang in ("zh", "en"):
        for etype in ("functional", "tabletop"):
            opts = DrillOptions(lang=lang, exercise_type=etype)
            a = write_files(build_drill(load_run(runs["warning"]), opts, playbook), tmp_path / "a")
            b = write_files(build_drill(load_run(runs["warning"]), opts, playbook), tmp_path / "b")
            assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert "暴雨" in render_markdown(build_drill(load_run(runs["warning"]), DrillOptions(lang="zh"), playbook))


@pytest.mark.parametrize("name", ["baseline", "warning"])
def test_roads_closed_to_ambulances_have_their_own_inject(runs: dict[str, Path], drills: dict, name: str) -> None:
    """Closures to light vehicles (30 cm) reach the ambulance centre with their own count; the underpass
    injects stay with the closures to every unit."""
    from sim.log import LIGHT_NOTE

    ev = load_run(runs[name]).events
    light = ev[(ev["kind"] == "road_close") & (ev["note"] == LIGHT_NOTE)]
    assert len(light)
    for lang in ("zh", "en"):
        by_rule: dict[str, list] = {}
        for inj in drills[(name, lang)].injects:
            by_rule.setdefault(inj.rule, []).append(inj)
        (first, *_) = by_rule["ambulance_roads_cut"]
        assert ev.iloc[first.event_index]["note"] == LIGHT_NOTE and first.receiver == "ambulance_centre"
        n = int((light["t_s"] == first.event_t_s).sum())
        assert f"{n}个路段" in first.message if lang == "zh" else f"{n} links are over 30 cm" in first.message
        held = [c for c in drills[(name, lang)].contingencies if c.rule == "driver_enters_flooded_underpass"]
        for inj in by_rule.get("underpass_flooded", []) + held:  # closed to every unit (60 cm)
            assert ev.iloc[inj.event_index]["note"] == "flood"
        for inj in by_rule.get("underpass_reopen", []):  # passable again for every vehicle: below 30 cm
            row = ev.iloc[inj.event_index]
            assert row["note"] == LIGHT_NOTE and float(row["value"]) < 0.3


def test_a_call_that_waits_for_a_unit_is_not_told_as_answered(runs: dict[str, Path], drills: dict) -> None:
    """Trapped people whose call queued hear that every unit is committed, not that units are on the way."""
    run = load_run(runs["baseline"])
    inc = run.incidents.set_index("incident")
    seen = set()
    for lang, waiting, sent in (("en", "waiting for one", "on their way"), ("zh", "列入等待", "已出动")):
        for inj in drills[("baseline", lang)].injects:
            if inj.event_kind != "report" or inj.incident_type not in ("people_trapped", "vehicle_trapped"):
                continue
            # waited for its first unit (wait_s), or none was sent (still waiting at the horizon, unserved)
            queued = (float(inc.loc[inj.incident, "wait_s"]) > 0 or pd.isna(inc.loc[inj.incident, "t_dispatch_s"]))
            assert (waiting in inj.message) == queued and (sent in inj.message) == (not queued), inj.message
            seen.add(queued)
    assert seen == {True, False}  # the seed-0 storm has both


def test_several_underpasses_get_the_range_of_their_depths(runs: dict[str, Path], drills: dict) -> None:
    ev = load_run(runs["baseline"]).events
    n = 0
    for inj in drills[("baseline", "en")].injects:
        if inj.rule != "underpass_flooded":
            continue
        links = [int(x) for x in re.findall(r"underpass on link (\d+)", inj.message)]
        at = ev[(ev["kind"] == "road_close") & (ev["t_s"] == inj.event_t_s) & (ev["note"] == "flood")]
        depth = dict(zip(at["scope"].astype(str), at["value"].astype(float), strict=True))
        mine = [depth[f"roads.link.{k}"] for k in links]
        m = re.search(r"is ([\d.]+)(?:–([\d.]+))? m deep", inj.message)
        assert m is not None, inj.message
        if len(mine) == 1 and " more " not in inj.message:
            assert m.group(2) is None and float(m.group(1)) == pytest.approx(mine[0], abs=0.005)
        else:  # the named ones lie in the range; none is given the deepest one's depth
            lo, hi = float(m.group(1)), float(m.group(2))
            assert all(lo - 0.005 <= d <= hi + 0.005 for d in mine) and lo < hi
            n += 1
    assert n  # the seed-0 storm floods several at once
