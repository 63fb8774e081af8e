"""Drill scripts: a tiny hand-built run folder turned into injects, checked against its own events."""

from __future__ import annotations

import csv
import html
import json
import re
from itertools import pairwise
from pathlib import Path

import pytest

from analysis.drill import DrillOptions, build_drill, main, write_drill
from analysis.drill_playbook import FIELDS, PlaybookError, fmt_elapsed, load_playbook
from analysis.drill_render import checklist_rows, file_names, inject_rows, render_html, render_markdown
from analysis.rundir import load_run
from sim.log import EVENT_COLUMNS, EVENT_KINDS, HAZARD_COLUMNS, INCIDENT_COLUMNS, SERVICE_COLUMNS

# A burst main (incident 1, hazard H1) found by customer calls, a house fire and a medical call.
# run_start 06:00, so t = 5400 s is 07:30.
INCIDENTS = [
    dict(incident=1, type="water_main_break", severity=3, source="H1", scope="water.pipe.P7", node=5, x_m=0, y_m=0,
         zone="Z01", t_occur_s=3600, t_report_s=5400, t_dispatch_s=5460, t_enroute_s=6060, t_arrival_s=6600,
         t_control_s=20000, t_close_s=20000, first_unit="units.water_crew.WD01.C1", n_units=1, outcome="resolved",
         wait_s=0, t_unit_dispatch_s=5460),
    dict(incident=2, type="fire", severity=1, source="background", scope="roads.node.9", node=9, x_m=0, y_m=0,
         zone="Z02", t_occur_s=6000, t_report_s=6000, t_dispatch_s=6060, t_enroute_s=6120, t_arrival_s=6300,
         t_control_s=8000, t_close_s=8000, first_unit="units.engine.FS01.E1", n_units=2, outcome="resolved",
         wait_s=0, t_unit_dispatch_s=6060),
    dict(incident=3, type="medical", severity=2, source="background", scope="roads.node.3", node=3, x_m=0, y_m=0,
         zone="Z01", t_occur_s=7000, t_report_s=7000, t_dispatch_s=7060, t_enroute_s=7120, t_arrival_s=7400,
         t_control_s=9000, t_close_s=9000, first_unit="units.ambulance.AS01.A1", n_units=1, outcome="resolved",
         wait_s=0, t_unit_dispatch_s=7060),
]
EVENTS = [
    (3600, "occur", "water.pipe.P7", 1, 3, "water_main_break"),
    (3600, "burst", "water.pipe.P7", 1, "", ""),
    (5400, "report", "water.pipe.P7", 1, 1800, ""),
    (5460, "dispatch", "units.water_crew.WD01.C1", 1, 600, ""),
    (6000, "occur", "roads.node.9", 2, 1, "fire"),
    (6000, "report", "roads.node.9", 2, 0, ""),
    (6060, "enroute", "units.water_crew.WD01.C1", 1, "", ""),
    (6060, "dispatch", "units.engine.FS01.E1", 2, 240, ""),
    (6060, "dispatch", "units.engine.FS01.E2", 2, 260, ""),
    (6120, "enroute", "units.engine.FS01.E1", 2, "", ""),
    (6120, "enroute", "units.engine.FS01.E2", 2, "", ""),
    (6300, "arrive", "units.engine.FS01.E1", 2, 180, ""),
    (6320, "arrive", "units.engine.FS01.E2", 2, 200, ""),
    (6600, "arrive", "units.water_crew.WD01.C1", 1, 540, ""),
    (7000, "occur", "roads.node.3", 3, 2, "medical"),
    (7000, "report", "roads.node.3", 3, 0, ""),
    (7060, "dispatch", "units.ambulance.AS01.A1", 3, 300, ""),
    (7120, "enroute", "units.ambulance.AS01.A1", 3, "", ""),
    (7400, "arrive", "units.ambulance.AS01.A1", 3, 280, ""),
    (7800, "isolate", "water.pipe.P7", 1, 120, "segment=P7,P8"),
    (7800, "road_close", "roads.link.7", 1, "", "main repair"),
    (7800, "repair", "water.pipe.P7", 1, 12200, ""),
    (8000, "control", "roads.node.9", 2, "", ""),
    (8000, "clear", "units.engine.FS01.E1", 2, "", ""),
    (8000, "close", "roads.node.9", 2, "", "resolved"),
    (9000, "control", "roads.node.3", 3, "", ""),
    (9000, "close", "roads.node.3", 3, "", "resolved"),
    (20000, "restore", "water.pipe.P7", 1, "", ""),
    (20000, "road_open", "roads.link.7", 1, "", ""),
    (20000, "control", "water.pipe.P7", 1, "", ""),
    (20000, "close", "water.pipe.P7", 1, "", "resolved"),
    (28800, "horizon", "run", "", 3, ""),
]
ROLES_TOUCHED = {"water_company", "district_command", "traffic_police", "gas_company", "power_company",
                 "street_station", "fire_station", "ambulance_centre", "hospital"}


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple | dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([r.get(c, "") for c in header] if isinstance(r, dict) else r)


def make_run(root: Path, policy: str = "baseline", zone_name: str = "Ninghai Subdistrict",
             incidents: list[dict] | None = None, events: list[tuple] | None = None) -> Path:
    _write_csv(root / "incidents.csv", INCIDENT_COLUMNS, INCIDENTS if incidents is None else incidents)
    _write_csv(root / "events.csv", EVENT_COLUMNS, EVENTS if events is None else events)
    _write_csv(root / "service.csv", SERVICE_COLUMNS, [(0, "water", 1, 0, 1000, "start"),
                                                        (3600, "water", 0.88, 120, 1000, "water.pipe.P7 burst"),
                                                        (20000, "water", 1, 0, 1000, "water.pipe.P7 restored")])
    params = json.dumps({"pipe": "P7", "diameter_mm": 150, "material": "CI", "install_year": 1970})
    _write_csv(root / "hazards.csv", HAZARD_COLUMNS, [("H1", 3600, "water.pipe_burst", "water.pipe.P7", params)])
    _write_csv(root / "city" / "zones.csv", ("zone", "name", "node", "x_m", "y_m", "area_km2", "population",
                                            "households"),
               [("Z01", zone_name, 5, 0, 0, 1, 500, 200), ("Z02", "Huaqiao Subdistrict", 9, 0, 0, 1, 500, 200)])
    _write_csv(root / "city" / "pipes.csv", ("pipe", "u", "v", "length_m", "diameter_mm", "material",
                                            "install_year", "road_link"), [("P7", 5, 6, 120, 150, "CI", 1970, 7)])
    _write_csv(root / "city" / "links.csv", ("link", "u", "v", "road_class", "length_m", "speed_kmh", "bridge",
                                            "tunnel", "underpass"), [(7, 5, 6, 1, 120, 40, 0, 0, 0)])
    summary = {"status": "ok", "run_start": "2026-07-15T06:00:00", "timezone": "Asia/Shanghai", "horizon_s": 28800.0,
               "seed": 1, "scenario": "pipe_burst", "policy": policy, "city": {"name": "Gulou-like district",
                                                                              "population": 1000},
               "standards": {"gb51080_dispatch_to_arrival_s": 300.0, "nfpa1710_turnout_fire_s": 80.0,
                             "nfpa1710_turnout_ems_s": 60.0, "nfpa1710_travel_s": 240.0, "fractile": 0.9}}
    (root / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return root


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


def _drill(run_dir: Path, playbook: dict, **kw):
    return build_drill(load_run(run_dir), DrillOptions(**kw), playbook)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("etype", ["functional", "tabletop"])
def test_every_inject_maps_back_to_its_event(run_dir: Path, playbook: dict, lang: str, etype: str) -> None:
    drill = _drill(run_dir, playbook, lang=lang, exercise_type=etype)
    events = list(csv.reader((run_dir / "events.csv").open(encoding="utf-8")))
    assert drill.injects and drill.contingencies
    for inj in drill.injects + drill.contingencies:
        row = dict(zip(events[0], events[inj.event_line - 1], strict=True))
        assert (row["kind"], row["scope"], float(row["t_s"]), int(row["incident"])) == (
            inj.event_kind, inj.event_scope, inj.event_t_s, inj.incident), inj.label
        assert f"{inj.event_line}" in inj.event_ref
    # the same, read back from the CSV a trainer gets
    rows = inject_rows(drill)
    for r in rows[1:]:
        line, scope = int(r[15]), r[16]
        assert events[line - 1][2] == scope


@pytest.mark.parametrize("etype", ["functional", "tabletop"])
def test_clock_times_never_go_backwards(run_dir: Path, playbook: dict, etype: str) -> None:
    drill = _drill(run_dir, playbook, exercise_type=etype, lang="zh")
    for seq in (drill.injects, drill.contingencies):
        for a, b in pairwise(seq):
            assert a.exercise_clock <= b.exercise_clock and a.elapsed_s <= b.elapsed_s
            assert a.scenario_clock <= b.scenario_clock
    assert drill.startex[0] <= drill.injects[0].exercise_clock <= drill.injects[-1].exercise_clock <= drill.endex[0]
    assert [i.label for i in drill.injects] == [str(k) for k in range(1, len(drill.injects) + 1)]


def test_every_role_the_scenario_touches_gets_an_inject(run_dir: Path, playbook: dict) -> None:
    drill = _drill(run_dir, playbook)
    assert set(drill.touched_roles) == ROLES_TOUCHED
    assert ROLES_TOUCHED <= {i.receiver for i in drill.injects}
    assert not drill.warnings
    # still true when the cap is tight (every role gets its best inject that fits first)
    tight = _drill(run_dir, playbook, max_per_hour=3)
    assert set(tight.touched_roles) <= {i.receiver for i in tight.injects} | {w.split("'")[1] for w in tight.warnings}


@pytest.mark.parametrize("cap", [1, 2, 3, 5])
def test_density_cap_keeps_the_most_consequential(run_dir: Path, playbook: dict, cap: int) -> None:
    drill = _drill(run_dir, playbook, max_per_hour=cap)
    ts = [i.t_s for i in drill.injects]
    for t in ts:
        assert sum(t <= u < t + 3600 for u in ts) <= cap
    full = _drill(run_dir, playbook, max_per_hour=100)
    assert len(drill.injects) <= len(full.injects)
    # the burst report outranks the routine calls
    assert any(i.rule == "burst_call" for i in drill.injects)
    kept = min(i.score for i in drill.injects)
    dropped = [i for i in full.injects if (i.rule, i.event_index) not in {(j.rule, j.event_index) for j in drill.injects}]
    if cap >= 2 and dropped:
        assert max(i.score for i in dropped) <= max(i.score for i in drill.injects)
    assert kept >= 0


def test_tabletop_is_compressed_and_keeps_the_cap_on_its_own_clock(run_dir: Path, playbook: dict) -> None:
    drill = _drill(run_dir, playbook, exercise_type="tabletop", max_per_hour=4, clock_start="09:00")
    ex = [i.elapsed_s for i in drill.injects]
    assert all(b - a == 900 for a, b in pairwise(ex))
    for t in ex:
        assert sum(t <= u < t + 3600 for u in ex) <= 4
    assert drill.startex[0].strftime("%H:%M") == "09:00"
    span_ex = (drill.endex[0] - drill.startex[0]).total_seconds()
    span_sc = (drill.injects[-1].scenario_clock - drill.injects[0].scenario_clock).total_seconds()
    assert span_ex <= float(playbook["defaults"]["tabletop"]["duration_s"]) and span_ex < span_sc
    assert any(i.scenario_clock.strftime("%H:%M") != i.exercise_clock.strftime("%H:%M") for i in drill.injects)


def test_functional_clock_runs_in_real_time_from_the_clock_start(run_dir: Path, playbook: dict) -> None:
    drill = _drill(run_dir, playbook, clock_start="2026-09-01T08:30")
    first = drill.injects[0]
    assert drill.startex[0].isoformat() == "2026-09-01T08:30:00"
    for i in drill.injects:
        assert (i.exercise_clock - drill.startex[0]).total_seconds() == pytest.approx(i.elapsed_s)
        assert (i.scenario_clock - first.scenario_clock).total_seconds() == pytest.approx(i.elapsed_s - first.elapsed_s)
    default = _drill(run_dir, playbook)
    assert default.startex[0].strftime("%H:%M") == "07:20"  # 10 min before the 07:30 burst report, on a 5-min mark
    with pytest.raises(ValueError, match="clock start"):
        _drill(run_dir, playbook, clock_start="half past eight")


def _keys(playbook: dict) -> set[str]:
    keys = set(FIELDS) | set(EVENT_KINDS) | {r["id"] for r in playbook["injects"] + playbook["contingencies"]}
    for section in ("roles", "senders", "modes", "objectives", "unit_kinds", "incident_types", "labels", "phrases",
                    "scenarios", "policies", "exercise_types"):
        keys |= {str(k) for k in playbook[section]}
    return keys


def test_chinese_output_has_no_untranslated_playbook_keys(run_dir: Path, playbook: dict, tmp_path: Path) -> None:
    drill = _drill(run_dir, playbook, lang="zh")
    paths = write_drill(run_dir, tmp_path / "out", DrillOptions(lang="zh"))
    assert [p.name for p in paths] == list(file_names(drill).values())
    keys = _keys(playbook)
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for p in paths:
        text = p.read_text(encoding="utf-8-sig")
        if p.suffix == ".html":  # the words a reader sees, not the markup
            text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<style>.*?</style>", " ", text)))
        # dotted scopes (water.pipe.P7, units.water_crew.WD01.C1) and file names are identifiers, not keys
        text = re.sub(r"\b[A-Za-z_]+(?:\.[A-Za-z0-9_]+)+\b", " ", text)
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
        assert not words & keys, (p.name, sorted(words & keys))
        assert not re.search(r"\{[a-z_]+\}", text), p.name
    for inj in drill.injects + drill.contingencies:
        for s in (inj.message, *inj.actions, inj.sender_name, inj.receiver_name, inj.mode_name, inj.objective_text):
            assert cjk.search(s), s
    assert "宁海路街道" in drill.injects[[i.rule for i in drill.injects].index("burst_call")].message


def test_csv_round_trips_through_the_csv_module_with_the_bom(run_dir: Path, tmp_path: Path) -> None:
    write_drill(run_dir, tmp_path, DrillOptions(lang="zh"))
    drill = build_drill(load_run(run_dir), DrillOptions(lang="zh"))
    names = file_names(drill)
    for key, rows in (("csv", inject_rows(drill)), ("checklist", checklist_rows(drill))):
        raw = (tmp_path / names[key]).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
        with (tmp_path / names[key]).open(encoding="utf-8-sig", newline="") as fh:
            back = list(csv.reader(fh))
        assert back == rows
        assert len({len(r) for r in back}) == 1
    assert len(inject_rows(drill)) == 1 + len(drill.injects) + len(drill.contingencies)
    assert len(checklist_rows(drill)) == 1 + len(drill.checklist)


def test_deterministic(run_dir: Path, tmp_path: Path) -> None:
    for lang in ("zh", "en"):
        a = write_drill(run_dir, tmp_path / "a", DrillOptions(lang=lang, exercise_type="tabletop"))
        b = write_drill(run_dir, tmp_path / "b", DrillOptions(lang=lang, exercise_type="tabletop"))
        assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert not list((tmp_path / "a").glob(".*.tmp"))


def test_checklist_has_one_line_per_objective_with_targets(run_dir: Path, playbook: dict) -> None:
    drill = _drill(run_dir, playbook, lang="en")
    by_key = {(c.objective, c.applies_to): c for c in drill.checklist}
    assert len(by_key) == len(drill.checklist)
    arrival = next(c for c in drill.checklist if c.objective == "fire_arrival")
    assert arrival.target_s == 300.0 and arrival.observed_s == pytest.approx(240.0) and arrival.met is True
    isolation = next(c for c in drill.checklist if c.objective == "water_isolation")
    assert isolation.observed_s == pytest.approx(2400.0) and isolation.target_s == 2400.0
    restore = next(c for c in drill.checklist if c.objective == "water_restore")
    assert restore.observed_s == pytest.approx(16400.0) and restore.target_s == 28800.0
    labels = {i.label for i in drill.injects + drill.contingencies}
    assert all(set(c.injects) <= labels for c in drill.checklist)


def test_contingency_injects_cover_delay_second_ignition_and_road_closing(run_dir: Path, playbook: dict) -> None:
    drill = _drill(run_dir, playbook, lang="en")
    rules = {c.rule for c in drill.contingencies}
    assert {"unit_delayed", "second_ignition", "jam_at_closure"} <= rules
    for c in drill.contingencies:
        assert c.contingency and c.trigger and c.label.startswith("C") and c.t_s >= c.event_t_s
    delayed = [c for c in drill.contingencies if c.rule == "unit_delayed"]
    assert {c.event_kind for c in delayed} == {"enroute"}
    assert len({c.incident_type for c in delayed}) == len(delayed)  # one per incident type


def test_contingencies_due_before_startex_are_left_out(tmp_path: Path, playbook: dict) -> None:
    """The fire now starts at 06:50, before STARTEX (07:20): it is still scripted by its end (fire_out),
    but a delayed engine or a second ignition due before STARTEX could never be delivered."""
    shift = -3000.0
    incidents = [dict(r) for r in INCIDENTS]
    fire = incidents[1]
    for k in ("t_occur_s", "t_report_s", "t_dispatch_s", "t_enroute_s", "t_arrival_s", "t_unit_dispatch_s"):
        fire[k] += shift
    events = [(t + shift if inc == 2 and kind not in ("control", "clear", "close") else t, kind, scope, inc, v, n)
              for t, kind, scope, inc, v, n in EVENTS]
    events.sort(key=lambda e: e[0])
    root = make_run(tmp_path / "early", incidents=incidents, events=events)
    for etype in ("functional", "tabletop"):
        drill = _drill(root, playbook, lang="en", exercise_type=etype)
        assert 2 in {i.incident for i in drill.injects}  # the fire is in the script ...
        assert 2 not in {c.incident for c in drill.contingencies}  # ... but its contingencies were due too early
        t0 = min(i.t_s for i in drill.injects)
        for c in drill.contingencies:
            assert c.t_s >= t0 and c.elapsed_s >= 0
    # the same fire inside the window keeps them
    assert {"unit_delayed", "second_ignition"} <= {c.rule for c in _drill(make_run(tmp_path / "in"), playbook,
                                                                          lang="en").contingencies
                                                    if c.incident == 2}


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "T+0:00"), (59, "T+0:00"), (60, "T+0:01"), (3900, "T+1:05"), (36000, "T+10:00"),
    (-30, "T+0:00"), (-60, "T-0:01"), (-3240, "T-0:54"), (-3960, "T-1:06"),
])
def test_elapsed_time_keeps_its_sign(seconds: float, text: str) -> None:
    assert fmt_elapsed(seconds) == text


def test_pressure_monitoring_reports_come_from_the_platform(tmp_path: Path, playbook: dict) -> None:
    root = make_run(tmp_path / "pm", policy="baseline+pressure_monitoring")
    drill = _drill(root, playbook, lang="en")
    report = [i for i in drill.injects if i.event_kind == "report" and i.incident == 1]
    assert report and {i.sender for i in report} == {"monitoring_platform"}


def test_roles_filter(run_dir: Path, playbook: dict) -> None:
    drill = _drill(run_dir, playbook, roles=("water_company", "交警大队"))
    assert {i.receiver for i in drill.injects} == {"water_company", "traffic_police"}
    assert set(drill.roles) <= {"water_company", "traffic_police"}
    with pytest.raises(ValueError, match="unknown role"):
        _drill(run_dir, playbook, roles=("fire_brigade",))


def test_html_is_escaped_printable_and_labelled_chinese(tmp_path: Path, playbook: dict) -> None:
    root = make_run(tmp_path / "x", zone_name="<script>alert(1)</script> Subdistrict")
    drill = _drill(root, playbook, lang="zh")
    page = render_html(drill)
    assert '<html lang="zh-CN">' in page and "@media print" in page and "@page" in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<script>" in render_markdown(drill)  # Markdown carries the text as is
    assert '<html lang="en">' in render_html(_drill(root, playbook, lang="en"))


def test_playbook_override_and_errors(run_dir: Path, tmp_path: Path) -> None:
    over = tmp_path / "over.yaml"
    over.write_text("roles:\n  water_company: {zh: 自来水集团, en: Water board}\ndefaults:\n  lang: zh\n",
                    encoding="utf-8")
    drill = build_drill(load_run(run_dir), DrillOptions(config=over))
    assert drill.lang == "zh" and "自来水集团" in {i.receiver_name for i in drill.injects}
    bad = tmp_path / "bad.yaml"
    bad.write_text("senders:\n  sms_gateway: {zh: 短信平台}\n", encoding="utf-8")  # no English name
    with pytest.raises(PlaybookError, match=r"senders\.sms_gateway\.en"):
        load_playbook(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("injects:\n  - {id: x, event: report, sender: nobody, receiver: fire_station, mode: phone,\n"
                    "     message: {zh: a, en: a}, actions: {zh: [a], en: [a]}, objectives: []}\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match=r"injects\[0\]\.sender.*'nobody'"):
        load_playbook(typo)
    for name, text, match in (
        ("lead.yaml", "defaults:\n  lead_tim: 600\n", r"defaults\.lead_tim: unknown setting"),
        ("ttx.yaml", "defaults:\n  tabletop: {duraton_s: 600}\n", r"defaults\.tabletop\.duraton_s: unknown"),
        ("score.yaml", "scoring:\n  hazard_bonus: .nan\n", r"scoring\.hazard_bonus: expected a finite number"),
        ("neg.yaml", "scoring:\n  severity_weight: -1\n", r"scoring\.severity_weight"),
        ("new.yaml", "scoring:\n  hazard_bonu: 3\n", r"scoring\.hazard_bonu: unknown setting"),
        ("kind.yaml", "objectives:\n  gas_arrival: {metric: response@gas_crews}\n",
         r"objectives\.gas_arrival\.metric: 'response@gas_crews'"),
        ("base.yaml", "objectives:\n  ems_turnout: {metric: travel@ambulance}\n",
         r"objectives\.ems_turnout\.metric: 'travel@ambulance'"),
    ):
        f = tmp_path / name
        f.write_text(text, encoding="utf-8")
        with pytest.raises(PlaybookError, match=match):
            load_playbook(f)


def test_cli(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(run_dir), "--lang", "zh", "--max-per-hour", "6", "--roles", "water_company,street_station"]) == 0
    written = capsys.readouterr().out.split()
    assert written and all(Path(p).is_file() and Path(p).parent == run_dir / "drill" for p in written)
    assert main([str(run_dir), "--lang", "en", "--type", "tabletop", "--clock-start", "13:30",
                 "--out", str(tmp_path / "tt")]) == 0
    assert (tmp_path / "tt" / "drill-tabletop-en.html").is_file()
    missing = tmp_path / "nothing-here"
    assert main([str(missing)]) == 2
    assert str(missing) in capsys.readouterr().err
    (run_dir / "events.csv").unlink()
    assert main([str(run_dir)]) == 2
    assert "events.csv" in capsys.readouterr().err


def test_a_fire_still_queued_at_the_end_is_not_told_as_answered(tmp_path: Path, playbook: dict) -> None:
    """No engine free and none came before the horizon (wait_s empty): the street hears that the call waits."""
    incidents = [dict(r) for r in INCIDENTS]
    fire = incidents[1]
    for k in ("t_dispatch_s", "t_enroute_s", "t_arrival_s", "t_control_s", "t_close_s", "t_unit_dispatch_s", "wait_s"):
        fire[k] = ""
    fire.update(first_unit="", n_units=0, outcome="open")
    events = [e for e in EVENTS if e[3] != 2 or e[1] in ("occur", "report")]
    events.append((6060, "queue", "units.engine", 2, 1, ""))
    events.sort(key=lambda e: e[0])
    root = make_run(tmp_path / "queued", incidents=incidents, events=events)
    drill = _drill(root, playbook, lang="en")
    told = [i.message for i in drill.injects if i.incident == 2 and i.event_kind == "report"]
    assert told and all("no fire unit is free yet" in m and "on their way" not in m
                        for m in told if "fire units" in m or "fire unit " in m)
    assert any("no fire unit is free yet" in m for m in told)


def test_a_fire_whose_ladder_queued_but_engines_went_is_told_as_answered(tmp_path: Path, playbook: dict) -> None:
    """Only a call no unit went to is waiting: the engines on their way are said to be on their way."""
    events = sorted([*EVENTS, (6060, "queue", "units.ladder", 2, 1, "")], key=lambda e: e[0])
    root = make_run(tmp_path / "ladder", events=events)
    told = [i.message for i in _drill(root, playbook, lang="en").injects if i.incident == 2 and i.event_kind == "report"]
    assert any("fire units are on their way" in m for m in told)
    assert not any("no fire unit is free yet" in m for m in told)
