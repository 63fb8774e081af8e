"""Waterlogging: rain, hydrology, roads in the engine, determinism, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from scenarios.background import Call
from scenarios.base import Hazard
from sim import engine
from sim.city import City, Roads, Station, UnitSpec
from sim.config import CityConfig, Config, ConfigError, PolicyConfig, ScenarioConfig, ServiceTime, validate
from sim.flood import (
    FloodState,
    build_catchments,
    chicago_depths,
    forecast_peaks,
    pregnolato_kmh,
    read_rain_csv,
)
from sim.flood_config import StormConfig, WaterloggingConfig
from sim.policy import make_policy
from sim.rng import Streams
from sim.runner import build_city, simulate
from tests.conftest import line_city


@pytest.fixture(scope="module")
def district() -> City:
    return build_city(CityConfig(), Streams(0))


def test_chicago_storm_matches_the_idf_depth_and_peaks_at_r() -> None:
    # DOMAIN.md 3.3: a = 20, b = 10, c = 0.8, r = 0.4, t_d = 120 min -> 48.872 mm.
    s = StormConfig(idf_a1_mm_min=20.0, idf_c=0.0, return_period_yr=1.0, idf_b_min=10.0, idf_n=0.8,
                    peak_ratio=0.4, duration_min=120.0)
    mm = chicago_depths(s, 60.0)
    assert len(mm) == 120
    assert mm.sum() == pytest.approx(48.872, abs=1e-3)
    assert int(np.argmax(mm)) in (47, 48)  # the step holding t = 48 min


def test_pregnolato_speeds_follow_the_published_table() -> None:
    v = pregnolato_kmh(np.array([0.0, 0.1, 0.2, 0.3]))
    assert v == pytest.approx([86.9448, 40.7, 12.4, 0.0], abs=0.1)


def test_mass_balance_per_catchment(district: City) -> None:
    w = WaterloggingConfig()
    catch = build_catchments(district.roads, w.hydrology, w.storm)
    st = FloodState(catch, w.hydrology)
    pumps = np.zeros(catch.n)
    pumps[:3] = 0.5
    seen_stored = False
    for r in np.concatenate([chicago_depths(w.storm, 300.0), np.zeros(12)]):
        st.step(float(r), 300.0, pumps)
        out = st.loss_m3 + st.drained_m3 + st.pumped_m3 + st.stored + st.overflow_m3
        np.testing.assert_allclose(out, st.rain_m3, rtol=1e-12, atol=1e-6)
        seen_stored |= bool(st.stored.sum() > 0)
    assert seen_stored and st.overflow_m3.sum() > 0 and st.pumped_m3.sum() > 0
    assert st.drained_m3.sum() > st.pumped_m3.sum()
    # the stage-volume relation is inverted exactly
    for c in range(catch.n):
        z = catch.level_of(c, float(st.stored[c]))
        assert catch.volume_at(c, z) == pytest.approx(st.stored[c], rel=1e-9, abs=1e-6)


def test_no_rain_no_ponding(district: City) -> None:
    w = WaterloggingConfig()
    catch = build_catchments(district.roads, w.hydrology, w.storm)
    peaks = forecast_peaks(catch, w.hydrology, np.zeros(24), 12)
    assert not peaks.any()


def test_heavier_storm_is_never_shallower(district: City) -> None:
    w = WaterloggingConfig()
    catch = build_catchments(district.roads, w.hydrology, w.storm)
    peaks = []
    for p in (2.0, 10.0, 50.0, 100.0):
        s = dataclasses.replace(w.storm, return_period_yr=p)
        peaks.append(forecast_peaks(catch, w.hydrology, chicago_depths(s, 300.0), 24))
    for lo, hi in zip(peaks, peaks[1:], strict=False):
        assert np.all(hi >= lo - 1e-12)
    assert peaks[-1].sum() > peaks[0].sum()


# ------------------------------------------------------------------ engine
def _square_city() -> City:
    """0 -- 1 -- 2 short route through a dip at node 1; 0 -- 3 -- 2 a longer detour on high ground."""
    x = np.array([0.0, 1000.0, 2000.0, 1000.0])
    y = np.array([0.0, 0.0, 0.0, 1000.0])
    elev = np.array([10.0, 5.0, 10.0, 20.0])
    u = np.array([0, 1, 0, 3])
    v = np.array([1, 2, 3, 2])
    length = np.array([1000.0, 1000.0, 1500.0, 1500.0])
    m = 4
    roads = Roads(x_m=x, y_m=y, elev_m=elev, u=u, v=v, length_m=length, speed_kmh=np.full(m, 36.0),
                  road_class=np.full(m, 2), oneway=np.zeros(m, bool), bridge=np.zeros(m, bool),
                  tunnel=np.zeros(m, bool), underpass=np.zeros(m, bool))
    base = line_city(2)
    st = Station(id="FS1", kind="fire", node=0, units=(UnitSpec(id="FS1.E1", kind="engine", station="FS1"),))
    return dataclasses.replace(base, roads=roads, stations=(st,), water=dataclasses.replace(
        base.water, customers=np.zeros(4, dtype=np.int64), road_link=np.array([0])))


def _flood_run(rain_mm: float, call_t: float = 1000.0, people_per_1000: float = 0.0,
               bridges: tuple[int, ...] = ()) -> engine.RunLog:
    city = _square_city()
    if bridges:
        flag = np.zeros(city.roads.n_links, bool)
        flag[list(bridges)] = True
        city = dataclasses.replace(city, roads=dataclasses.replace(city.roads, bridge=flag))
    sc = ScenarioConfig(name="waterlogging")
    w = sc.waterlogging
    w.hydrology.curve_number = 100.0  # all rain runs off
    w.hydrology.runoff_coefficient = 0.0  # no drainage: the pond stays
    w.pumps.count = 0
    w.people.calls_per_1000 = people_per_1000
    fixed = ServiceTime(dist="fixed", median_s=60.0)
    pol = PolicyConfig()
    pol.dispatch.call_processing = dataclasses.replace(fixed, median_s=0.0)
    pol.dispatch.run_cards = {"fire": {"engine": 1}}
    pol.dispatch.on_scene = {"fire": fixed}
    cc = CityConfig()
    cc.fire.turnout_s = 0.0
    rain = Hazard(id="H1", t_s=0.0, kind="weather.rain", scope="weather.rain",
                  params={"step_s": 300.0, "mm": [rain_mm]})
    return engine.run(city, [rain], [Call(call_t, "fire", 2)], make_policy(pol, cc), 7200.0, Streams(0),
                      scenario=sc)


def test_closure_on_the_short_route_sends_the_unit_round_the_detour() -> None:
    # 300 mm on 2 km² stored on node 1's 0.5 km² cell: 1.2 m deep, links 0-1, 1-2 closed (>= 0.6 m).
    log = _flood_run(300.0)
    closed = {r.scope for r in log.events if r.kind == "road_close"}
    assert closed == {"roads.link.0", "roads.link.1"}
    arrive = [r for r in log.events if r.kind == "arrive"]
    assert len(arrive) == 1
    assert arrive[0].value == pytest.approx(300.0, abs=1e-9)  # 3000 m at 10 m/s; the direct route is 200 s


def test_people_trapped_calls_come_from_the_points_own_stream() -> None:
    from scipy.stats import poisson

    # Node 1 is 1.2 m deep; the zone's 100 people spread over 4 nodes: 25 under deep water.
    log = _flood_run(300.0, people_per_1000=200.0)
    u = Streams(0).fresh("flood.people.1").random()
    expected = int(poisson.ppf(u, 200.0 * 25 / 1000.0))
    assert expected > 0
    occur = [r for r in log.events if r.kind == "occur" and r.note == "people_trapped"]
    assert len(occur) == expected and {r.scope for r in occur} == {"roads.node.1"}
    assert not [r for r in _flood_run(50.0, people_per_1000=200.0).events if r.note == "people_trapped"]


def test_shallow_water_slows_by_pregnolato() -> None:
    # 50 mm: 0.2 m at node 1, links through it slowed, not closed; the detour (300 s) is now faster.
    log = _flood_run(50.0)
    assert not [r for r in log.events if r.kind == "road_close"]
    slow = {r.scope: r.value for r in log.events if r.kind == "road_slow"}
    # The 36 km/h street is capped at Pregnolato's 12.4 km/h at 200 mm (DOMAIN.md 3.1).
    assert slow["roads.link.0"] == pytest.approx(36.0 / float(pregnolato_kmh(0.2)), rel=1e-3)
    arrive = [r for r in log.events if r.kind == "arrive"]
    assert arrive[0].value == pytest.approx(300.0, abs=1e-9)


def test_no_rain_no_closures_in_the_engine() -> None:
    log = _flood_run(0.0)
    kinds = {r.kind for r in log.events}
    assert not kinds & {"flood", "road_close", "road_slow", "flood_point", "ponding"}
    arrive = [r for r in log.events if r.kind == "arrive"]
    assert arrive[0].value == pytest.approx(200.0, abs=1e-9)


def _cfg(policy_ew: bool = False) -> Config:
    cfg = Config()
    cfg.scenario = ScenarioConfig(name="waterlogging")
    cfg.scenario.waterlogging.storm.start_s = 1800.0
    cfg.run.horizon_s = 5 * 3600.0
    cfg.run.start = "2026-07-15T21:00:00"
    cfg.run.report = False
    cfg.policy.early_warning.enabled = policy_ew
    cfg.policy.early_warning.lead_s = 1800.0
    return cfg


def test_determinism_and_common_random_numbers(tmp_path: Path) -> None:
    simulate(_cfg(), tmp_path / "a")
    simulate(_cfg(), tmp_path / "b")
    simulate(_cfg(True), tmp_path / "c")
    for name in ("events.csv", "incidents.csv", "hazards.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    import pandas as pd

    a = pd.read_csv(tmp_path / "a" / "incidents.csv")
    c = pd.read_csv(tmp_path / "c" / "incidents.csv")
    bg_a = a[a.source == "background"][["t_occur_s", "type", "node"]].reset_index(drop=True)
    bg_c = c[c.source == "background"][["t_occur_s", "type", "node"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(bg_a, bg_c)
    assert (a.type == "vehicle_trapped").sum() > (c.type == "vehicle_trapped").sum()
    assert (tmp_path / "a" / "hazards.csv").read_bytes() == (tmp_path / "c" / "hazards.csv").read_bytes()


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        ("storm.return_period_yr", -5.0, "scenario.waterlogging.storm.return_period_yr"),
        ("storm.peak_ratio", 1.5, "scenario.waterlogging.storm.peak_ratio"),
        ("storm.peak_ratio", -0.1, "scenario.waterlogging.storm.peak_ratio"),
        ("hydrology.curve_number", 0.0, "scenario.waterlogging.hydrology.curve_number"),
        ("roads.emergency_limit_m", 0.1, "scenario.waterlogging.roads.emergency_limit_m"),
        ("roads.light_limit_m", 0.0, "scenario.waterlogging.roads.light_limit_m"),
        ("roads.light_kinds", ["ambulance", "ambulance"], "scenario.waterlogging.roads.light_kinds"),
        ("roads.light_kinds", ["hovercraft"], "scenario.waterlogging.roads.light_kinds"),
    ],
)
def test_bad_config_names_the_key(path: str, value: object, key: str) -> None:
    cfg = Config()
    obj = cfg.scenario.waterlogging
    *parents, leaf = path.split(".")
    for p in parents:
        obj = getattr(obj, p)
    setattr(obj, leaf, value)
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert err.value.key == key


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("t_s,mm\n300,1.5\n600,abc\n", 3, "not a number"),
        ("t_s,mm\n300,1.5\n200,1.0\n", 3, "must increase"),
        ("300,1.5\n600,-2\n", 2, ">= 0"),
        ("300,1.5,7\n", 1, "2 fields"),
    ],
)
def test_malformed_rain_csv_names_the_line(tmp_path: Path, text: str, line: int, what: str) -> None:
    f = tmp_path / "rain.csv"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        read_rain_csv(f, 300.0)
    assert err.value.key == "scenario.waterlogging.storm.csv_file"
    assert f"rain.csv:{line}:" in str(err.value) and what in str(err.value)


def test_rain_csv_resamples_the_cumulative_curve(tmp_path: Path) -> None:
    f = tmp_path / "rain.csv"
    f.write_text("t_s,mm\n600,10\n1200,0\n1500,6\n")
    mm = read_rain_csv(f, 300.0)
    assert mm.tolist() == pytest.approx([5.0, 5.0, 0.0, 0.0, 6.0])


def test_missing_csv_file_is_a_config_error() -> None:
    cfg = Config()
    cfg.scenario.waterlogging.storm.kind = "csv"
    cfg.scenario.waterlogging.storm.csv_file = "/nonexistent/rain.csv"
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert err.value.key == "scenario.waterlogging.storm.csv_file"



def test_a_scene_cut_off_during_turnout_waits_for_a_route() -> None:
    import simpy

    from sim.dispatch import Dispatcher, Incident, Unit, serve
    from sim.roads import RoadState

    city = line_city(3)  # 100 s per link
    env = simpy.Environment()
    roads = RoadState(city.roads)
    records: list[tuple[float, str]] = []
    unit = Unit(spec=city.stations[0].units[0], home=0, turnout_s=60.0, node=0)
    d = Dispatcher(env, roads, [unit], lambda r: records.append((r.t_s, r.kind)))
    inc = Incident(id=1, type="fire", severity=1, source="test", scope="roads.node.2", node=2, zone="",
                   t_occur=0.0, rng=np.random.default_rng(0))
    inc.controlled = env.event()
    unit.proc = env.process(serve(env, unit, d))

    def script() -> object:
        yield env.timeout(1.0)
        d.request(inc, "engine")
        yield env.timeout(29.0)
        roads.close(1)  # during turnout
        yield env.timeout(470.0)
        roads.open(1)  # at t = 500

    env.process(script())
    env.run(until=2000.0)
    # turnout ends at 61 s (en route: NFPA 1710's turnout is the crew's, not the road's); the route is
    # checked at 61, 121, ..., 541 s (open from 500 s), so the 480 s wait counts as travel
    assert records == [(1.0, "dispatch"), (61.0, "enroute"), (741.0, "arrive")]


def test_a_measured_rain_csv_becomes_the_rain_hazard(tmp_path: Path, district: City) -> None:
    from scenarios.waterlogging import build

    f = tmp_path / "storm.csv"
    f.write_text("t_s,mm\n600,12\n1200,30\n1800,6\n")
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.storm.kind = "csv"
    sc.waterlogging.storm.csv_file = str(f)
    (h,) = build(sc, district, np.random.default_rng(0), 86400.0)
    assert h.kind == "weather.rain" and h.params["mm"] == pytest.approx([6.0, 6.0, 15.0, 15.0, 3.0, 3.0])
    assert h.params["total_mm"] == pytest.approx(48.0) and h.params["peak_mm_h"] == pytest.approx(180.0)
    assert "mm_after_horizon" not in h.params


def test_rain_after_the_horizon_is_reported(tmp_path: Path, district: City, caplog: pytest.LogCaptureFixture) -> None:
    """A CSV written in clock seconds (not from storm.start_s) loses its storm past the horizon: said, not silent."""
    from scenarios.waterlogging import build

    f = tmp_path / "storm.csv"
    f.write_text("t_s,mm\n600,12\n1200,30\n1800,6\n")
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.storm.kind = "csv"
    sc.waterlogging.storm.csv_file = str(f)
    sc.waterlogging.storm.start_s = 3600.0
    with caplog.at_level("WARNING", logger="cityres"):
        (h,) = build(sc, district, np.random.default_rng(0), 4800.0)  # the horizon cuts after 1200 s of rain
    assert h.params["mm_after_horizon"] == pytest.approx(3.0 + 3.0)  # 300 s steps: 6, 6, 15, 15 | 3, 3
    assert "6.0 of the storm's 48.0 mm fall after run.horizon_s=4800" in caplog.text


def test_the_flood_leaves_a_closure_for_another_cause_alone() -> None:
    from sim.flood_process import attach

    city = _square_city()
    world = engine._World(city, make_policy(PolicyConfig(), CityConfig()), Streams(0), engine.RunLog())
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.hydrology.curve_number = 100.0
    sc.waterlogging.hydrology.runoff_coefficient = 0.0
    sc.waterlogging.pumps.count = 0
    rain = Hazard(id="H1", t_s=0.0, kind="weather.rain", scope="weather.rain", params={"step_s": 300.0, "mm": [50.0]})
    fp = attach(world, [rain], sc.waterlogging, None, 0.0)
    assert fp is not None
    world.roads.close(0)  # e.g. a main repair
    world.env.process(fp.run())
    world.env.run(until=3600.0)
    assert world.roads.is_closed(0)
    assert 1.0 < world.roads.factor[1] < np.inf  # 0.2 m: slowed by the flood


def test_speed_in_water_is_capped_at_the_free_speed() -> None:
    from sim.flood import speed_share

    # 25 mm: Pregnolato's 73.7 km/h slows an 86.9 km/h road but not a 25 km/h street.
    share = speed_share(np.array([0.025, 0.025, 0.2, 0.5]), np.array([86.9448, 25.0, 25.0, 25.0]), 0.08)
    assert share[0] == pytest.approx(float(pregnolato_kmh(0.025)) / 86.9448)
    assert share[1] == 1.0
    assert share[2] == pytest.approx(float(pregnolato_kmh(0.2)) / 25.0)
    assert share[3] == 0.08  # impassable for cars: the emergency-vehicle floor


def test_a_viaduct_over_the_dip_stays_dry() -> None:
    # Node 1 lies 1.2 m under water, but links 0-1 and 1-2 are a viaduct over it: nothing closes,
    # and the unit takes the direct route (200 s) instead of the detour.
    log = _flood_run(300.0, bridges=(0, 1))
    assert not [r for r in log.events if r.kind in ("road_close", "road_slow", "flood")]
    arrive = [r for r in log.events if r.kind == "arrive"]
    assert arrive[0].value == pytest.approx(200.0, abs=1e-9)
    # A bridge on one side only: its street end (node 1) is still under water, so link 1-2 closes.
    closed = {r.scope for r in _flood_run(300.0, bridges=(0,)).events if r.kind == "road_close"}
    assert closed == {"roads.link.1"}


def _attached(rain_mm: float, **roads: object):  # noqa: ANN202 - (world, flood process)
    from sim.flood_process import attach

    world = engine._World(_square_city(), make_policy(PolicyConfig(), CityConfig()), Streams(0), engine.RunLog())
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.hydrology.curve_number = 100.0
    sc.waterlogging.hydrology.runoff_coefficient = 0.0
    sc.waterlogging.pumps.count = 0
    for k, v in roads.items():
        setattr(sc.waterlogging.roads, k, v)
    rain = Hazard(id="H1", t_s=0.0, kind="weather.rain", scope="weather.rain",
                  params={"step_s": 300.0, "mm": [rain_mm]})
    fp = attach(world, [rain], sc.waterlogging, None, 0.0)
    assert fp is not None
    world.env.process(fp.run())
    world.env.run(until=3600.0)
    return world, fp


def test_forty_centimetres_close_the_road_to_ambulances_not_to_engines() -> None:
    """DOMAIN.md 3.1: at 30 cm and over only special rescue vehicles go on (light_limit_m)."""
    from sim.log import LIGHT_NOTE

    world, fp = _attached(100.0)  # 0.4 m at node 1
    ambulance, engine_roads = world.dispatcher.roads_for("ambulance"), world.dispatcher.roads_for("engine")
    assert ambulance is not engine_roads and engine_roads is world.roads
    assert ambulance.is_closed(0) and ambulance.is_closed(1)
    assert not engine_roads.is_closed(0) and 1.0 < engine_roads.factor[0] < np.inf  # crawling, not closed
    closes = {(r.scope, r.note) for r in world.log.events if r.kind == "road_close"}
    assert closes == {("roads.link.0", LIGHT_NOTE), ("roads.link.1", LIGHT_NOTE)}
    assert np.isfinite(engine_roads.time(0, 1)) and not np.isfinite(ambulance.time(0, 1))
    # A cause other than the flood reaches both classes; the flood's own layers stay apart.
    world.roads.close(2)
    assert ambulance.is_closed(2) and engine_roads.is_closed(2)
    world.roads.open(2)
    assert not ambulance.is_closed(2)


def test_one_class_of_vehicle_when_the_light_limit_is_not_shallower() -> None:
    world, fp = _attached(100.0, light_limit_m=0.6)
    assert fp.light is None and world.dispatcher.roads_for("ambulance") is world.roads
    assert not [r for r in world.log.events if r.kind == "road_close"]
    world, fp = _attached(300.0)  # 1.2 m: closed to every unit, and to light vehicles first
    notes = sorted(r.note for r in world.log.events if r.kind == "road_close" and r.scope == "roads.link.0")
    assert notes == ["flood", "flood: light vehicles"]


def test_an_engine_reaches_a_scene_in_forty_centimetres_an_ambulance_does_not() -> None:
    city = _square_city()
    units = (UnitSpec(id="FS1.E1", kind="engine", station="FS1"), UnitSpec(id="FS1.A1", kind="ambulance", station="FS1"))
    city = dataclasses.replace(city, stations=(Station(id="FS1", kind="fire", node=0, units=units),))
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.hydrology.curve_number = 100.0
    sc.waterlogging.hydrology.runoff_coefficient = 0.0
    sc.waterlogging.pumps.count = 0
    sc.waterlogging.people.calls_per_1000 = 0.0
    fixed = ServiceTime(dist="fixed", median_s=60.0)
    pol = PolicyConfig()
    pol.dispatch.call_processing = dataclasses.replace(fixed, median_s=0.0)
    pol.dispatch.run_cards = {"fire": {"engine": 1}, "medical": {"ambulance": 1}}
    pol.dispatch.on_scene = {"fire": fixed, "medical": fixed}
    rain = Hazard(id="H1", t_s=0.0, kind="weather.rain", scope="weather.rain", params={"step_s": 300.0, "mm": [100.0]})
    calls = [Call(1000.0, "fire", 1), Call(1000.0, "medical", 1)]
    log = engine.run(city, [rain], calls, make_policy(pol, CityConfig()), 7200.0, Streams(0), scenario=sc)
    by_type = {i.type: i for i in log.incidents}
    assert by_type["fire"].t_arrival is not None and by_type["fire"].first_unit == "units.engine.FS1.E1"
    # No route for the ambulance: the call queues (no unit can reach it) and is still open at the horizon.
    assert by_type["medical"].t_arrival is None and by_type["medical"].pending == 1
    assert [r.scope for r in log.events if r.kind == "queue"] == ["units.ambulance"]


def test_a_call_the_water_cut_off_is_served_when_the_road_reopens() -> None:
    """A queued request nobody could reach goes out when the water falls below the limit again, not only when
    some unit next clears a job (Dispatcher.offer_queued)."""
    from sim.log import LIGHT_NOTE

    city = _square_city()
    units = (UnitSpec(id="FS1.A1", kind="ambulance", station="FS1"),)
    city = dataclasses.replace(city, stations=(Station(id="FS1", kind="fire", node=0, units=units),))
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.hydrology.curve_number = 100.0
    sc.waterlogging.hydrology.runoff_coefficient = 1.0  # the sewers drain the pond
    sc.waterlogging.pumps.count = 0
    sc.waterlogging.people.calls_per_1000 = 0.0
    fixed = ServiceTime(dist="fixed", median_s=60.0)
    pol = PolicyConfig()
    pol.dispatch.call_processing = dataclasses.replace(fixed, median_s=0.0)
    pol.dispatch.run_cards = {"medical": {"ambulance": 1}}
    pol.dispatch.on_scene = {"medical": fixed}
    rain = Hazard(id="H1", t_s=0.0, kind="weather.rain", scope="weather.rain", params={"step_s": 300.0, "mm": [100.0]})
    log = engine.run(city, [rain], [Call(1000.0, "medical", 1)], make_policy(pol, CityConfig()), 21600.0,
                     Streams(0), scenario=sc)
    (inc,) = log.incidents
    opened = [r.t_s for r in log.events if r.kind == "road_open" and r.note == LIGHT_NOTE]
    assert [r.scope for r in log.events if r.kind == "queue"] == ["units.ambulance"]  # cut off at first
    assert opened and inc.t_dispatch == min(opened) and inc.t_arrival is not None and inc.outcome == "resolved"


def test_roads_follow_the_water_down_as_it_drains() -> None:
    """Closed to every class at its depth, then slowed, then open again: the road states agree with the
    flood's own books at every step (both classes of vehicle), and the dry roads end at free flow."""
    from sim.flood import speed_share
    from sim.flood_process import attach
    from sim.log import LIGHT_NOTE

    world = engine._World(_square_city(), make_policy(PolicyConfig(), CityConfig()), Streams(0), engine.RunLog())
    sc = ScenarioConfig(name="waterlogging")
    sc.waterlogging.hydrology.curve_number = 100.0
    sc.waterlogging.hydrology.runoff_coefficient = 1.0  # the sewers drain the pond
    sc.waterlogging.pumps.count = 0
    sc.waterlogging.people.calls_per_1000 = 0.0
    rain = Hazard(id="H1", t_s=0.0, kind="weather.rain", scope="weather.rain", params={"step_s": 300.0, "mm": [300.0]})
    fp = attach(world, [rain], sc.waterlogging, None, 0.0)
    assert fp is not None and fp.light is not None
    world.env.process(fp.run())
    heavy, light = world.roads, fp.light
    r, rc = world.city.roads, sc.waterlogging.roads
    seen_closed = seen_slow = seen_light_slow = 0
    for t in np.arange(150.0, 12 * 3600.0, 300.0):
        world.env.run(until=float(t))
        d = fp.link_depth
        # Pregnolato's slow-down of the depth on the books (1 when dry), or closed.
        slow = np.where(d > 0, 1.0 / speed_share(d, r.speed_kmh, rc.min_speed_share), 1.0)
        assert np.array_equal(heavy.factor, np.where(fp.closed, np.inf, slow))
        assert np.array_equal(light.factor, np.where(fp.light_closed, np.inf, slow))
        seen_closed += int(fp.closed.any())
        seen_slow += int((np.isfinite(heavy.factor) & (heavy.factor > 1.0)).any())
        seen_light_slow += int((np.isfinite(light.factor) & (light.factor > 1.0)).any())
    assert seen_closed and seen_slow and seen_light_slow and not fp.link_depth.any()
    assert np.all(heavy.factor == 1.0) and np.all(light.factor == 1.0)
    opened = {(r.scope, r.note) for r in world.log.events if r.kind == "road_open"}
    assert ("roads.link.0", "flood") in opened and ("roads.link.0", LIGHT_NOTE) in opened
