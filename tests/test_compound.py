"""Compound scenarios: hazards of several kinds in one run, and their consequences meeting."""

from __future__ import annotations

import pytest

from sim import engine
from sim.config import Config, ConfigError, FaultSpec
from sim.fire_config import FireSpec
from sim.runner import prepare


def compound(parts: list[str], seed: int = 3) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.run.horizon_s = 12 * 3600.0
    cfg.calls.enabled = False
    cfg.scenario.name = "compound"
    cfg.scenario.parts = parts
    return cfg


def test_each_part_keeps_its_own_hazards() -> None:
    alone = prepare(compound(["power_outage"])).hazards
    both = prepare(compound(["power_outage", "gas_leak"])).hazards
    power = [(h.t_s, h.scope) for h in both if h.kind.startswith("power.")]
    assert power == [(h.t_s, h.scope) for h in alone]
    assert any(h.kind == "gas.leak" for h in both)
    assert [h.id for h in both] == [f"H{i}" for i in range(1, len(both) + 1)]
    assert [h.t_s for h in both] == sorted(h.t_s for h in both)
    assert {h.params["part"] for h in both} == {"power_outage", "gas_leak"}


@pytest.mark.parametrize("parts, key", [([], "scenario.parts"), (["nope"], r"scenario.parts\[0\]"),
                                        (["compound"], r"scenario.parts\[0\]")])
def test_bad_parts_name_the_key(parts: list[str], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        prepare(compound(parts))


def test_a_fire_in_a_block_whose_boosters_lost_power_waits_for_the_relay() -> None:
    """The lifelines cascade meets the fire: no booster, no building pressure, relay pumping."""
    cfg = compound(["power_outage", "ebike_fire"])
    city = prepare(cfg).city
    feeder = city.power.feeders[0]
    building = next(h for h in city.highrises if h.zone == feeder.zone)
    cfg.scenario.power_outage.faults = [FaultSpec(f"power.feeder.{feeder.id}", 600.0)]
    cfg.scenario.ebike_fire.fires = [FireSpec(building.id, 1200.0, location="flat", floor=5)]
    cfg.policy.lifelines.feeder_repair.median_s = 8 * 3600.0
    cfg.policy.fire.no_water_share = 0.0
    p = prepare(cfg)
    log = engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams)
    water = [r for r in log.events if r.kind == "first_water"]
    assert len(water) == 1 and "relay" in water[0].note
    # Without the outage the same fire gets the building's pressure.
    cfg.scenario.parts = ["ebike_fire"]
    p = prepare(cfg)
    log = engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams)
    water = [r for r in log.events if r.kind == "first_water"]
    assert len(water) == 1 and "relay" not in water[0].note


def test_parts_get_the_policy_and_the_clock() -> None:
    """A part sees what it would see alone: charging piles thin its fires, its hours are clock hours."""
    def fires(piles: bool) -> list:
        cfg = compound(["ebike_fire"])
        cfg.run.horizon_s = 24 * 3600.0
        cfg.scenario.ebike_fire.rate_multiplier = 5000.0  # ~27 fires a day in the district
        cfg.scenario.ebike_fire.min_fires = 0
        cfg.policy.interventions.charging_piles = piles
        return [h for h in prepare(cfg).hazards if h.kind == "fire.ebike"]

    base, piles = fires(False), fires(True)
    assert len(base) > 20
    # Thinned from the baseline's fires (scenarios/ebike_fire.py): a strict subset, same times.
    assert len(piles) < len(base) and {h.t_s for h in piles} <= {h.t_s for h in base}
    start = 6.0  # run.start 06:00 by default
    assert all(h.params["hour"] == pytest.approx((start + h.t_s / 3600.0) % 24, abs=1e-3) for h in base)
