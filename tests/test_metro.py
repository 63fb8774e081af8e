"""The generated metropolis (city=metro): scale, structure and determinism."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.city import City, check_city
from sim.config import CityConfig, Config, ConfigError, validate
from sim.district import build_district

METRO_YAML = Path(__file__).resolve().parents[1] / "conf" / "city" / "metro.yaml"


def metro_config(**overrides: object) -> CityConfig:
    merged = OmegaConf.merge(OmegaConf.structured(CityConfig), OmegaConf.load(METRO_YAML), overrides)
    cfg = OmegaConf.to_object(merged)
    assert isinstance(cfg, CityConfig)
    return cfg


@pytest.fixture(scope="module")
def metro() -> City:
    return build_district(metro_config(), np.random.default_rng(0))


def same_city(a: City, b: City) -> bool:
    for f in dataclasses.fields(a.roads):
        if not np.array_equal(getattr(a.roads, f.name), getattr(b.roads, f.name)):
            return False
    for f in dataclasses.fields(a.water):
        x, y = getattr(a.water, f.name), getattr(b.water, f.name)
        if not (np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y):
            return False
    return (a.zones, a.stations, a.highrises, a.meta) == (b.zones, b.stations, b.highrises, b.meta)


def test_metro_has_the_scale_of_nanjing(metro: City) -> None:
    check_city(metro)
    r = metro.roads
    assert r.n_nodes >= 100_000
    assert metro.population == 9_000_000 == sum(z.population for z in metro.zones)
    assert len(metro.zones) == 101 and len({z.id for z in metro.zones}) == 101
    assert len({z.name for z in metro.zones}) == 101, "zone names must be unique"
    assert len({z.district for z in metro.zones}) == 11 and all(z.district for z in metro.zones)
    fire = [s for s in metro.stations if s.kind == "fire"]
    amb = [s for s in metro.stations if s.kind == "ambulance"]
    assert len(fire) >= 100 and len(amb) >= 100
    assert sum(1 for u in metro.units() if u.kind == "ambulance") == 300  # 9 M / 30,000
    assert metro.meta["fire_coverage"] is not None and float(metro.meta["fire_coverage"]) >= 0.9  # type: ignore[arg-type]
    assert len(metro.water.sources) == 8 and len(metro.water.valves) > 50_000
    assert r.tunnel.sum() == 4 and r.bridge.sum() >= 6 and r.underpass.sum() == 60
    assert len(str(metro.meta["basin_low_nodes"]).split()) == 82


def test_metro_roads_connected_with_an_expressway_grid(metro: City) -> None:
    r = metro.roads
    g = coo_matrix((np.ones(r.n_links), (r.u, r.v)), shape=(r.n_nodes, r.n_nodes))
    assert connected_components(g, directed=False)[0] == 1
    # The expressways alone form one connected grid (interchanges join them).
    ex = r.road_class == 0
    nodes = np.unique(np.concatenate([r.u[ex], r.v[ex]]))
    sub = coo_matrix((np.ones(int(ex.sum())), (r.u[ex], r.v[ex])), shape=(r.n_nodes, r.n_nodes)).tocsr()
    _, lab = connected_components(sub, directed=False)
    assert len(np.unique(lab[nodes])) == 1
    # Both directions: some expressway links run east-west, some north-south.
    dx = np.abs(r.x_m[r.u[ex]] - r.x_m[r.v[ex]])
    dy = np.abs(r.y_m[r.u[ex]] - r.y_m[r.v[ex]])
    assert (dx > 100).sum() > 1000 and (dy > 100).sum() > 1000


def test_metro_is_deterministic_and_config_sensitive(metro: City) -> None:
    assert same_city(metro, build_district(metro_config(), np.random.default_rng(0)))
    small = metro_config(width_km=20.0, height_km=16.0, population=1_000_000, n_zones=30, n_districts=4)
    a = build_district(small, np.random.default_rng(0))
    b = build_district(metro_config(width_km=20.0, height_km=16.0, population=1_000_000, n_zones=30,
                                    n_districts=5), np.random.default_rng(0))
    assert len({z.district for z in a.zones}) == 4 and len({z.district for z in b.zones}) == 5
    assert not same_city(a, b)


def test_metro_config_errors_name_the_key() -> None:
    for key, value in (("n_districts", 0), ("n_districts", 200)):
        cfg = Config(city=metro_config(**{key: value}))
        with pytest.raises(ConfigError) as err:
            validate(cfg)
        assert err.value.key == f"city.{key}"
    cfg = Config(city=metro_config())
    cfg.city.fire.n_candidates = 0
    with pytest.raises(ConfigError, match=r"city\.fire\.n_candidates"):
        validate(cfg)
    cfg = Config(city=metro_config())
    cfg.city.water.n_plants = 0
    with pytest.raises(ConfigError, match=r"city\.water\.n_plants"):
        validate(cfg)


@pytest.mark.slow
def test_metro_run_is_byte_identical_for_the_same_seed(tmp_path: Path) -> None:
    import hashlib

    from sim.runner import simulate

    def run(d: Path) -> dict[str, str]:
        cfg = Config(city=metro_config())
        cfg.scenario.name = "pipe_burst"
        cfg.run.horizon_s = 6 * 3600.0
        cfg.run.report = False
        summary = simulate(cfg, d)
        assert summary["status"] == "ok" and summary["n_incidents"] > 100
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(d.rglob("*.csv"))}

    a, b = run(tmp_path / "a"), run(tmp_path / "b")
    assert a == b and "events.csv" in a and "links.csv" in a


@pytest.mark.parametrize("limit", [60.0, 240.0, 900.0])
def test_local_reach_searches_equal_whole_graph_searches(limit: float) -> None:
    from sim.siting import reach_matrix, travel_graph

    city = build_district(metro_config(width_km=16.0, height_km=12.0, population=800_000, n_zones=12,
                                       n_districts=3), np.random.default_rng(2))
    r = city.roads
    sources = np.random.default_rng(1).choice(r.n_nodes, size=300, replace=False)
    g = travel_graph(r)
    dense = reach_matrix(g, sources, limit)
    local = reach_matrix(g, sources, limit, xy=(r.x_m, r.y_m), max_speed_kmh=float(r.speed_kmh.max()))
    assert dense.nnz > len(sources)
    assert (dense != local).nnz == 0
