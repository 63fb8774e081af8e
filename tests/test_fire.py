"""E-bike fires: ignition rates, the fire model, and the response in the engine."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from scenarios import ebike_fire
from scenarios.base import Hazard
from sim import engine
from sim.city import HighRise
from sim.config import CityConfig, Config, ConfigError, PolicyConfig, ScenarioConfig, ServiceTime, validate
from sim.fire import draw_setup, outcome, untenable_times
from sim.fire_config import FireResponseConfig
from sim.policy import make_policy
from sim.rng import Streams
from sim.water import WaterState
from tests.conftest import line_city

FIRE_UNITS = (("FS1", "engine", 0), ("FS1", "ladder", 0), ("FS1", "rescue", 0),
              ("FS1", "engine", 0), ("FS1", "engine", 0), ("FS1", "rescue", 0))


def fire_city(floors: int = 30, units: tuple[tuple[str, str, int], ...] = FIRE_UNITS):
    base = line_city(units=units)
    hr = (HighRise(id="HR1", zone="Z01", node=2, floors=floors, households=8 * floors, height_m=3.0 * floors),
          HighRise(id="HR2", zone="Z01", node=1, floors=18, households=120, height_m=54.0))
    return dataclasses.replace(base, highrises=hr)


def scenario(**kw: object) -> ScenarioConfig:
    sc = ScenarioConfig(name="ebike_fire")
    for k, v in kw.items():
        setattr(sc.ebike_fire, k, v)
    return sc


def fire_hazard(t: float = 100.0, location: str = "parking", floor: int = 1, shaft: bool = False,
                hour: float = 4.0) -> Hazard:
    return Hazard(id="H1", t_s=t, kind="fire.ebike", scope="buildings.highrise.HR1", params={
        "building": "HR1", "location": location, "floor": floor, "floors": 30, "households": 240,
        "shaft": shaft, "modified": True, "origin": "explicit", "hour": hour})


def fire_policy(**interventions: bool) -> PolicyConfig:
    p = PolicyConfig()
    p.dispatch.call_processing = ServiceTime(dist="fixed", median_s=60.0)
    p.dispatch.on_scene["highrise_fire"] = ServiceTime(dist="fixed", median_s=3000.0)
    p.fire.no_water_share = 0.0
    for k, v in interventions.items():
        setattr(p.interventions, k, v)
    return p


def run_fire(policy: PolicyConfig, hazard: Hazard | None = None, seed: int = 0) -> engine.RunLog:
    return engine.run(fire_city(), [hazard or fire_hazard()], [], make_policy(policy, CityConfig()), 20000.0,
                      Streams(seed))


def times(log: engine.RunLog, kind: str) -> list[float]:
    return [r.t_s for r in log.events if r.kind == kind]


# ------------------------------------------------------------------ ignition
def test_no_indoor_charging_no_indoor_ignitions() -> None:
    sc = scenario(charging_share={"flat": 0.0, "corridor": 0.0, "parking": 0.0, "piles": 1.0},
                  rate_multiplier=1e6, min_fires=3)
    city = fire_city()
    assert ebike_fire.expected_fires(sc, city, 86400.0) == 0.0
    assert ebike_fire.build(sc, city, np.random.default_rng(1), 86400.0) == []


def test_doubling_indoor_charging_doubles_expected_fires() -> None:
    city = fire_city()
    one = scenario(charging_share={"flat": 0.1, "corridor": 0.05, "parking": 0.15, "piles": 0.7})
    two = scenario(charging_share={"flat": 0.2, "corridor": 0.1, "parking": 0.3, "piles": 0.4})
    e1 = ebike_fire.expected_fires(one, city, 86400.0, 6.0)
    e2 = ebike_fire.expected_fires(two, city, 86400.0, 6.0)
    assert e1 > 0
    assert e2 == pytest.approx(2 * e1, rel=1e-12)


def test_calibration_matches_the_national_rate() -> None:
    """At the national battery mix, all home fires of a year = e-bikes x F x home share."""
    city = fire_city()
    sc = scenario()
    e = sc.ebike_fire
    indoor = 1.0 - e.charging_share["piles"]
    per_year = ebike_fire.rates_per_day(e, city).sum() * 365.25 / indoor
    n_bikes = sum(b.households for b in city.highrises) * e.ebikes_per_household
    assert per_year == pytest.approx(n_bikes * e.national_fires_per_ebike_yr * e.home_share_of_fires, rel=1e-12)
    # Over a whole day the hourly profile averages out to its mean of 1.
    day = ebike_fire.expected_fires(sc, city, 86400.0, 6.5)
    assert day == pytest.approx(ebike_fire.rates_per_day(e, city).sum(), rel=1e-9)


def test_night_peak_draws_more_fires_at_night() -> None:
    city = fire_city()
    sc = scenario(rate_multiplier=1e7, min_fires=0)
    hz = ebike_fire.build(sc, city, np.random.default_rng(3), 86400.0, start_hour=0.0)
    night = sum(1 for h in hz if h.params["hour"] >= 19 or h.params["hour"] < 3)
    day = sum(1 for h in hz if 7 <= h.params["hour"] < 15)  # same 8-hour length
    assert len(hz) > 50 and night > 1.5 * day


def test_charging_piles_thin_the_baseline_fires() -> None:
    city = fire_city()
    sc = scenario(rate_multiplier=1e7)
    piles = PolicyConfig()
    piles.interventions.charging_piles = True
    base = ebike_fire.build(sc, city, np.random.default_rng(7), 86400.0, policy=PolicyConfig())
    thin = ebike_fire.build(sc, city, np.random.default_rng(7), 86400.0, policy=piles)
    key = [(h.t_s, h.params["building"], h.params["location"]) for h in base]
    key_thin = [(h.t_s, h.params["building"], h.params["location"]) for h in thin]
    assert set(key_thin) < set(key)
    assert ebike_fire.expected_fires(sc, city, 86400.0, policy=piles) == pytest.approx(
        (1 - piles.fire.piles_moved_share) * ebike_fire.expected_fires(sc, city, 86400.0), rel=1e-12)


def test_same_seed_same_fires_and_min_fires() -> None:
    city = fire_city()
    sc = scenario(min_fires=2)
    a = ebike_fire.build(sc, city, Streams(5)("hazards"), 86400.0, start_hour=6.0)
    b = ebike_fire.build(sc, city, Streams(5)("hazards"), 86400.0, start_hour=6.0)
    c = ebike_fire.build(sc, city, Streams(6)("hazards"), 86400.0, start_hour=6.0)
    assert a == b and len(a) >= 2 and a != c
    assert all(h.kind == "fire.ebike" and 0 <= h.t_s < 86400.0 for h in a)


# ---------------------------------------------------------------- fire model
def _setup(location: str = "parking", shaft: bool = False, sprinklers: bool = False, u0: float = 0.9):
    r = FireResponseConfig()
    u = np.array([u0, 0.5, 0.5, 0.1, 0.5, 0.9])
    return r, draw_setup(r, floors=30, households=240, location=location, floor=12, shaft=shaft, hour=4.0, u=u,
                         sprinklers=sprinklers)


@pytest.mark.parametrize("location", ["flat", "corridor", "parking"])
@pytest.mark.parametrize("shaft", [False, True])
def test_untenability_never_before_ignition_and_rises_upward(location: str, shaft: bool) -> None:
    r, s = _setup(location, shaft)
    unt = untenable_times(s, r)
    finite = unt[np.isfinite(unt)]
    assert len(finite) > 0 and (finite > r.vent_delay_s).all()
    assert np.all(np.diff(finite) > 0)
    assert np.isinf(unt[: s.floor - 1]).all()  # floors below the origin stay tenable


def test_shaft_smoke_is_faster_and_sprinklers_cap_the_fire() -> None:
    r, stair = _setup("parking", shaft=False)
    _, shaft = _setup("parking", shaft=True)
    assert untenable_times(shaft, r)[-1] < untenable_times(stair, r)[-1]
    _, spr = _setup("parking", sprinklers=True)
    assert np.isinf(untenable_times(spr, r)).all()
    assert outcome(spr, r, 1200.0).casualties == 0.0 < outcome(stair, r, 1200.0).casualties


def test_later_water_means_more_casualties_and_working_alarms_fewer() -> None:
    r, s = _setup("parking", shaft=True, u0=0.9)  # alarm not working
    early, late = outcome(s, r, 600.0), outcome(s, r, 1800.0)
    assert late.casualties > early.casualties > 0
    assert late.exposed <= late.occupants
    # A working alarm brings the call, hence the water, earlier.
    _, alarmed = _setup("parking", shaft=True, u0=0.1)
    assert alarmed.alarm_works and not s.alarm_works
    assert alarmed.t_report_s < s.t_report_s
    response = 900.0
    assert outcome(alarmed, r, alarmed.t_report_s + response).casualties < outcome(
        s, r, s.t_report_s + response).casualties


# ------------------------------------------------------------------- engine
def test_engine_fire_events_in_order() -> None:
    log = run_fire(fire_policy())
    kinds = [r.kind for r in log.events]
    for k in ("ignite", "detect", "untenable", "first_water", "exposed", "casualties"):
        assert k in kinds
    t_ign = times(log, "ignite")[0]
    assert t_ign == 100.0
    assert min(times(log, "untenable")) >= t_ign
    inc = log.incidents[0]
    assert inc.type == "highrise_fire" and inc.t_report is not None and inc.t_report > t_ign


def test_first_water_not_before_arrival_plus_setup() -> None:
    for seed in range(5):
        log = run_fire(fire_policy(), seed=seed)
        inc = log.incidents[0]
        assert inc.t_arrival is not None
        (tw,) = times(log, "first_water")
        assert tw >= inc.t_arrival + PolicyConfig().fire.setup_s - 1e-9


def test_no_pressure_delays_first_water_by_the_relay_time(monkeypatch: pytest.MonkeyPatch) -> None:
    with_pressure = run_fire(fire_policy())
    monkeypatch.setattr(WaterState, "served_nodes", lambda self: np.zeros(self.n_nodes, dtype=bool))
    without = run_fire(fire_policy())
    (a,), (b,) = times(with_pressure, "first_water"), times(without, "first_water")
    assert with_pressure.incidents[0].t_arrival == without.incidents[0].t_arrival
    assert b - a == pytest.approx(PolicyConfig().fire.relay_s, abs=1e-9)
    assert "second_alarm" in [r.kind for r in without.events]


def test_untenable_spread_stops_after_knockdown() -> None:
    log = run_fire(fire_policy(), fire_hazard(location="parking", shaft=False))
    (tw,) = times(log, "first_water")
    assert max(times(log, "untenable")) <= tw + FireResponseConfig().knockdown_s + 1e-9


def test_engine_is_deterministic_and_policy_keeps_fire_draws() -> None:
    a, b = run_fire(fire_policy()), run_fire(fire_policy())
    assert a.events == b.events
    c = run_fire(fire_policy(sprinklers=True))
    # Same ignition and detection: the fire's draws do not depend on the policy.
    assert times(c, "detect") == times(a, "detect") and times(c, "ignite") == times(a, "ignite")


def test_street_team_gives_earlier_water() -> None:
    base = run_fire(fire_policy())
    street = run_fire(fire_policy(street_stations=True))
    (a,), (b,) = times(base, "first_water"), times(street, "first_water")
    assert b < a
    assert [r.scope for r in street.events if r.kind == "first_water"] == ["units.street_team"]


def _card_on_scene(log: engine.RunLog, inc_id: int, card: dict[str, int]) -> tuple[float, float] | None:
    """From the events alone: when the first units filling ``card`` were all on scene, and their longest travel."""
    left, t_last, travel = dict(card), None, 0.0
    for r in log.events:
        kind = r.scope.split(".")[1] if r.scope.startswith("units.") else ""
        if r.kind == "arrive" and r.incident == inc_id and left.get(kind, 0) > 0:
            left[kind] -= 1
            t_last, travel = r.t_s, max(travel, float(r.value))
            if not any(left.values()):
                return t_last, travel
    return None


def test_full_alarm_is_the_run_card_on_scene_from_the_events() -> None:
    card = PolicyConfig().dispatch.run_cards["highrise_fire"]  # 3 engines, a ladder, a rescue
    for seed in range(3):
        log = run_fire(fire_policy(), seed=seed)
        inc = log.incidents[0]
        expected = _card_on_scene(log, inc.id, card)
        assert expected is not None and inc.t_full_alarm is not None
        assert inc.t_full_alarm == expected[0] and inc.t_full_alarm >= inc.t_arrival
        assert inc.full_alarm_travel == pytest.approx(expected[1], abs=1e-3)
        assert inc.full_alarm_travel >= inc.t_arrival - inc.t_enroute - 1e-9


def test_full_alarm_never_complete_without_a_ladder() -> None:
    city = fire_city(units=tuple(u for u in FIRE_UNITS if u[1] != "ladder"))
    log = engine.run(city, [fire_hazard()], [], make_policy(fire_policy(), CityConfig()), 20000.0, Streams(0))
    inc = log.incidents[0]
    assert inc.t_arrival is not None and inc.n_units >= 4
    assert inc.t_full_alarm is None and inc.card_left == {"ladder": 1}


# ------------------------------------------------------------------- config
@pytest.mark.parametrize(("key", "value", "expected"), [
    ("national_fires_per_ebike_yr", -1e-5, "scenario.ebike_fire.national_fires_per_ebike_yr"),
    ("charging_share", {"flat": 1.5, "corridor": 0.0, "parking": 0.0, "piles": 0.0},
     "scenario.ebike_fire.charging_share.flat"),
    ("rate_multiplier", -2.0, "scenario.ebike_fire.rate_multiplier"),
    ("home_share_of_fires", 1.2, "scenario.ebike_fire.home_share_of_fires"),
])
def test_bad_scenario_values_name_the_key(key: str, value: object, expected: str) -> None:
    cfg = Config()
    setattr(cfg.scenario.ebike_fire, key, value)
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert err.value.key == expected


def test_bad_policy_value_names_the_key() -> None:
    cfg = Config()
    cfg.policy.fire.alarm_working_prob = 1.3
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert err.value.key == "policy.fire.alarm_working_prob"
    cfg = Config()
    cfg.policy.fire.relay_s = -5.0
    with pytest.raises(ConfigError, match="policy.fire.relay_s"):
        validate(cfg)


def test_unknown_building_in_explicit_fires() -> None:
    from sim.fire_config import FireSpec

    sc = scenario(fires=[FireSpec(building="HR9", t_s=10.0)])
    with pytest.raises(ConfigError) as err:
        ebike_fire.build(sc, fire_city(), np.random.default_rng(0), 1000.0)
    assert err.value.key == "scenario.ebike_fire.fires[0].building"
    assert math.isfinite(ebike_fire.rate_per_session(sc.ebike_fire))
