"""Waterlogging meets the lifelines: flooded substations trip, underpass pumps need power."""

from __future__ import annotations

import pytest

from sim import engine
from sim.config import Config, FaultSpec
from sim.district_power import node_zones
from sim.runner import prepare


def storm(seed: int = 0) -> Config:
    cfg = Config()
    cfg.seed = seed
    cfg.scenario.name = "waterlogging"
    cfg.run.horizon_s = 86400.0
    cfg.calls.enabled = False
    return cfg


def run(cfg: Config) -> tuple:
    p = prepare(cfg)
    log = engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams, scenario=cfg.scenario,
                     start_hour=p.policy.start_hour)
    return p, log


def peak_ponding(log, node: int) -> float:
    return max((r.value for r in log.events if r.kind == "ponding" and r.scope == f"roads.node.{node}"), default=0.0)


@pytest.fixture(scope="module")
def deepest() -> int:
    """The low point that ponds deepest in the seed-0 storm."""
    _, log = run(storm())
    depth: dict[str, float] = {}
    for r in log.events:
        if r.kind == "ponding":
            depth[r.scope] = max(depth.get(r.scope, 0.0), float(r.value))
    return int(max(depth, key=lambda k: depth[k]).rpartition(".")[2])


def test_a_flooded_substation_trips_and_its_cascade_follows(deepest: int) -> None:
    cfg = storm()
    cfg.city.power.substation_nodes = [deepest, 100, 1500]
    p, log = run(cfg)
    sub = next(s for s in p.city.power.substations if s.node == deepest)
    trips = [r for r in log.events if r.kind == "flood_trip"]
    assert [r.scope for r in trips] == [f"power.substation.{sub.id}"] and trips[0].value > sub.flood_threshold_m
    inc = next(i for i in log.incidents if i.id == trips[0].incident)
    assert inc.type == "substation_fault" and inc.source == "flood"
    downs = {r.scope: r for r in log.events if r.kind == "lifeline_down"}
    assert downs[f"power.substation.{sub.id}"].t_s == trips[0].t_s
    feeders = {f"power.feeder.{f.id}" for f in p.city.power.feeders if f.substation == sub.id}
    assert feeders <= set(downs)
    # The underpass pump stations of those zones stop: the flood feeds on its own cascade.
    assert any(k.startswith("drainage.pump.") and downs[k].note.removeprefix("cause=") in feeders for k in downs)


def test_an_underpass_pump_without_power_ponds_deeper(deepest: int) -> None:
    base = storm()
    _, dry_power = run(base)
    p0 = prepare(base)
    zone = p0.city.zones[int(node_zones(p0.city.roads, p0.city.zones)[deepest])]
    feeder = next(f for f in p0.city.power.feeders if f.zone == zone.id)
    cfg = storm()
    cfg.scenario.name = "compound"
    cfg.scenario.parts = ["waterlogging", "power_outage"]
    cfg.scenario.power_outage.faults = [FaultSpec(f"power.feeder.{feeder.id}", 600.0)]
    cfg.policy.lifelines.feeder_repair.median_s = 80000.0
    cfg.policy.lifelines.feeder_repair.sigma = 0.0
    _, no_power = run(cfg)
    assert [r.scope for r in no_power.events if r.kind == "lifeline_down" and r.scope.startswith("drainage.pump.")]
    assert peak_ponding(no_power, deepest) >= peak_ponding(dry_power, deepest)
    pumped = [int(r.scope.rpartition(".")[2]) for r in no_power.events
              if r.kind == "lifeline_down" and r.scope.startswith("drainage.pump.")]
    assert any(peak_ponding(no_power, n) > peak_ponding(dry_power, n) for n in pumped)
    # Switched off, the dependency leaves the drainage alone.
    cfg.scenario.waterlogging.hydrology.pumps_always_on = True
    _, always = run(cfg)
    assert not [r for r in always.events if r.kind == "lifeline_down" and r.scope.startswith("drainage.pump.")]
    assert all(peak_ponding(always, n) == peak_ponding(dry_power, n) for n in pumped)
