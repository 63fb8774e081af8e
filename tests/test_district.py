"""The embedded district: deterministic, connected, sited by the 5-minute rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from sim.city import City, Valve, check_city
from sim.config import CityConfig, ConfigError
from sim.district import build_district


@pytest.fixture(scope="module")
def city():
    return build_district(CityConfig(), np.random.default_rng(0))


def undirected(n: int, u: np.ndarray, v: np.ndarray, w: np.ndarray | None = None):
    w = np.ones(len(u)) if w is None else w
    return coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n)).tocsr()


def test_same_seed_same_city_and_another_seed_differs(city) -> None:
    again = build_district(CityConfig(), np.random.default_rng(0))
    for f in dataclasses.fields(city.roads):
        assert np.array_equal(getattr(city.roads, f.name), getattr(again.roads, f.name)), f.name
    assert city.zones == again.zones and city.stations == again.stations
    assert np.array_equal(city.water.customers, again.water.customers) and city.water.valves == again.water.valves
    other = build_district(CityConfig(), np.random.default_rng(1))
    assert not np.array_equal(city.roads.x_m, other.roads.x_m)


def test_plausible_district(city) -> None:
    check_city(city)
    r = city.roads
    assert 1500 <= r.n_nodes <= 5000
    assert set(np.unique(r.road_class)) == {0, 1, 2}
    assert city.population == 750_000
    assert sum(z.population for z in city.zones) == 750_000 and len(city.zones) == 12
    assert city.water.customers.sum() == sum(z.households for z in city.zones)
    assert len(city.highrises) > 100 and all(18 <= h.floors <= 33 for h in city.highrises)
    assert r.underpass.sum() == 6 and r.tunnel.sum() == 1 and r.bridge.sum() >= 3
    kinds = {s.kind for s in city.stations}
    assert kinds == {"fire", "ambulance", "water_depot", "power_depot", "elevator_centre", "gas_depot"}
    assert sum(1 for u in city.units() if u.kind == "ambulance") == 25  # 750,000 / 30,000


def test_roads_connected_and_river_crossed_only_at_bridges_and_tunnels(city) -> None:
    r = city.roads
    n_comp, _ = connected_components(undirected(r.n_nodes, r.u, r.v), directed=False)
    assert n_comp == 1
    keep = ~(r.bridge | r.tunnel)
    _, lab = connected_components(undirected(r.n_nodes, r.u[keep], r.v[keep]), directed=False)
    y_r = CityConfig().river.position * CityConfig().height_km * 1000
    south, north = r.y_m < y_r, r.y_m > y_r
    assert not set(lab[south]) & set(lab[north]), "a bank is reachable without a bridge or tunnel"


def test_fire_stations_cover_the_district_within_five_minutes(city) -> None:
    cfg = CityConfig()
    r = city.roads
    g = undirected(r.n_nodes, r.u, r.v, r.travel_time_s())
    fire = [s.node for s in city.stations if s.kind == "fire"]
    d = dijkstra(g, indices=fire).min(axis=0)
    # Coverage counts street nodes, not the elevated expressway's own nodes.
    street = np.ones(r.n_nodes, bool)
    street[r.u[r.road_class == 0]] = False
    street[r.v[r.road_class == 0]] = False
    covered = (d[street] <= cfg.fire.coverage_s - cfg.fire.turnout_s).mean()
    assert covered >= cfg.fire.coverage_target
    assert city.meta["fire_coverage"] == pytest.approx(covered, abs=0.02)


def test_every_customer_has_a_main_to_a_plant(city) -> None:
    w = city.water
    n = city.roads.n_nodes
    _, lab = connected_components(undirected(n, w.u, w.v), directed=False)
    fed = np.isin(lab, lab[list(w.sources)])
    assert w.customers[~fed].sum() == 0
    for v in w.valves:
        assert v.node in (w.u[v.pipe], w.v[v.pipe])


def test_bad_station_node_names_the_key() -> None:
    cfg = CityConfig()
    cfg.fire.station_nodes = [10, 99999]
    with pytest.raises(ConfigError) as err:
        build_district(cfg, np.random.default_rng(0))
    assert err.value.key == "city.fire.station_nodes[1]" and "99999" in str(err.value)


def test_check_city_names_what_is_corrupt(city) -> None:
    r, w = city.roads, city.water
    bad_u = r.u.copy()
    bad_u[3] = 10**6
    def roads(**kw: object) -> City:
        return dataclasses.replace(city, roads=dataclasses.replace(r, **kw))

    def water(**kw: object) -> City:
        return dataclasses.replace(city, water=dataclasses.replace(w, **kw))

    cases = [
        (roads(u=bad_u), "roads.link.3: node 1000000"),
        (roads(length_m=-r.length_m), "length_m must be positive"),
        (roads(speed_kmh=r.speed_kmh[:-1]), "roads.speed_kmh"),
        (roads(elev_m=r.elev_m[:-1]), "roads.elev_m"),
        (dataclasses.replace(city, stations=(dataclasses.replace(city.stations[0], node=r.n_nodes),)),
         f"station {city.stations[0].id}: node"),
        (water(v=np.r_[w.v[:-1], r.n_nodes]), "does not exist"),
        (water(valves=(Valve("V1", w.n_pipes, 0),)), f"water.valve.V1: pipe {w.n_pipes} does not exist"),
        (water(valves=(Valve("V1", 0, r.n_nodes - 1),)), "is not an end of pipe P1"),
    ]
    for broken, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            check_city(broken)


def _same(a: object, b: object) -> bool:
    """Equal, arrays and all (dataclass == would compare arrays elementwise)."""
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return type(a) is type(b) and all(_same(getattr(a, f.name), getattr(b, f.name))
                                          for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.mark.parametrize("key, value, changed", [
    ("ambulance.n_stations", 8, "ambulance"),
    ("water.n_depots", 2, "water_depot"),
    ("power.n_power_depots", 2, "power_depot"),
    ("gas.n_depots", 2, "gas_depot"),
])
def test_a_station_count_changes_only_those_stations(city, key: str, value: int, changed: str) -> None:  # noqa: ANN001
    """Runs of a sweep over a station count stay paired: same mains, grid, gas network and other stations."""
    cfg = CityConfig()
    section, name = key.split(".")
    cfg = dataclasses.replace(cfg, **{section: dataclasses.replace(getattr(cfg, section), **{name: value})})
    other = build_district(cfg, np.random.default_rng(0))
    for part in ("water", "gas", "power", "zones", "facilities", "highrises"):
        assert _same(getattr(other, part), getattr(city, part)), part
    mine = [s for s in other.stations if s.kind == changed]
    assert len(mine) == value != len([s for s in city.stations if s.kind == changed])
    assert [s for s in other.stations if s.kind != changed] == [s for s in city.stations if s.kind != changed]


def test_ten_states_valve_spacing_is_one_setting_away(city) -> None:  # noqa: ANN001
    """The default is a sparse network (an assumption); valves at every junction give Ten States' <= 244 m."""
    from sim.water import segments

    def mean_segment_m(c: City) -> float:
        seg, _, _ = segments(c.water, c.roads.n_nodes)
        length = np.asarray(c.water.length_m, float)
        total = np.bincount(seg, weights=length)
        return float((total[seg] * length).sum() / length.sum())  # length-weighted: the segment a break meets

    cfg = CityConfig()
    ten = dataclasses.replace(cfg, water=dataclasses.replace(cfg.water, valve_spacing_links=1, valve_arterial_share=1.0))
    dense = build_district(ten, np.random.default_rng(0))
    assert mean_segment_m(dense) < 244.0 < 2000.0 < mean_segment_m(city)
    assert np.array_equal(dense.water.u, city.water.u)  # the same mains, only more valves


def test_a_valve_share_out_of_range_names_the_key() -> None:
    from sim.config import Config, validate

    cfg = Config()
    cfg.city.water.valve_arterial_share = 1.5
    with pytest.raises(ConfigError, match="city.water.valve_arterial_share"):
        validate(cfg)
