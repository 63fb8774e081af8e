"""Loaded networks: OSMnx GraphML, TNTP and EPANET files become a City, and the rest is generated."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.city import check_city
from sim.config import CityConfig, ConfigError
from sim.loaders import build_from_files, read_epanet
from sim.loaders.geo import project_lonlat, unproject
from sim.runner import simulate
from tests.test_config import make

FIXTURES = Path(__file__).parent / "fixtures"


def city(**kw: object):
    return build_from_files(CityConfig(kind="from_files", n_zones=3, **kw), np.random.default_rng(0))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


# ------------------------------------------------------------------ GraphML
def test_graphml_as_osmnx_writes_it() -> None:
    c = city(roads_file=str(FIXTURES / "town.graphml"))
    r = c.roads
    assert (r.n_nodes, r.n_links) == (4, 4)  # six directed edges of two-way streets pair up
    assert int(r.oneway.sum()) == 1  # the one-way primary stays one-way
    assert list(r.road_class) == [2, 1, 1, 1]  # residential; secondary/tertiary; primary; tertiary
    assert r.bridge.sum() == 1 and np.allclose(r.length_m, [302.1, 300.4, 303.0, 300.4])
    # Projected to metres on a local plane: corner distances match the great circle.
    d = math.hypot(r.x_m[1] - r.x_m[0], r.y_m[1] - r.y_m[0])
    assert d == pytest.approx(haversine_m(118.78, 32.04, 118.7832, 32.04), rel=1e-3)
    assert c.meta["crs"] == "EPSG:4326" and c.meta["geo_origin_lon"] == pytest.approx(118.7816)
    assert c.meta["generated"] == "water population zones stations"
    check_city(c)


def test_graphml_speeds_from_the_file() -> None:
    by_file = city(roads_file=str(FIXTURES / "town.graphml"), roads_speed="file").roads.speed_kmh
    # maxspeed "['40', '50']" -> 40; "30 mph" -> 48.3; none -> the class speed.
    assert by_file[1] == pytest.approx(40.0) and by_file[2] == pytest.approx(30 * 1.609344)
    assert by_file[0] == CityConfig().speed_kmh["local"]
    lowest = city(roads_file=str(FIXTURES / "town.graphml"), roads_speed="min").roads.speed_kmh
    assert lowest[2] == pytest.approx(min(30 * 1.609344, CityConfig().speed_kmh["arterial"]))


def test_graphml_written_by_networkx_loads(tmp_path: Path) -> None:
    g = nx.MultiDiGraph(crs="epsg:4326")
    pts = {1: (118.0, 32.0), 2: (118.002, 32.0), 3: (118.002, 32.002)}
    for n, (x, y) in pts.items():
        g.add_node(n, x=x, y=y)
    for a, b in ((1, 2), (2, 3), (3, 1)):
        for s, t in ((a, b), (b, a)):
            g.add_edge(s, t, highway="residential", oneway=False, length=250.0)
    nx.write_graphml(g, tmp_path / "g.graphml")
    c = city(roads_file=str(tmp_path / "g.graphml"))
    assert (c.roads.n_nodes, c.roads.n_links) == (3, 3) and not c.roads.oneway.any()


# --------------------------------------------------------------------- TNTP
def test_tntp_grid_with_its_node_file() -> None:
    c = city(roads_file=str(FIXTURES / "grid_net.tntp"))
    r = c.roads
    assert (r.n_nodes, r.n_links, int(r.oneway.sum())) == (9, 13, 1)
    assert c.meta["roads_length_source"] == "file (m)" and c.meta["crs"] == "local"
    # The one-way diagonal: 707 m in 0.4 min is 106 km/h, an expressway.
    assert r.road_class[r.oneway][0] == 0
    assert c.water.n_pipes == 12  # mains under every street, not under the expressway
    assert c.population == sum(z.population for z in c.zones)


def test_tntp_length_unit_and_explicit_stations() -> None:
    c = city(roads_file=str(FIXTURES / "grid_net.tntp"), roads_length_unit="ft")
    assert np.allclose(c.roads.length_m[~c.roads.oneway], 500 * 0.3048)
    c = city(roads_file=str(FIXTURES / "grid_net.tntp"))
    fire = CityConfig(kind="from_files", roads_file=str(FIXTURES / "grid_net.tntp"))
    fire.fire.station_nodes = [9, 1]  # the file's node numbers
    fire.ambulance.station_nodes = [5]
    sited = build_from_files(fire, np.random.default_rng(0))
    nodes = {s.id: s.node for s in sited.stations}
    assert nodes["FS01"] == 8 and nodes["FS02"] == 0 and nodes["AS01"] == 4
    assert "stations" not in sited.meta["generated"] and "stations" in c.meta["generated"]


# ------------------------------------------------------------------- EPANET
def test_epanet_parser_units_demands_and_status() -> None:
    m = read_epanet(FIXTURES / "small.inp", "city.water_file")
    assert m.units == "LPS" and m.n_closed_pipes == 1 and len(m.pipes) == 7
    dem = dict(zip(m.node_ids, m.demand_m3_day, strict=True))
    assert dem["J2"] == pytest.approx(1.0 * 86.4 * 2.0)  # L/s -> m3/day, times the demand multiplier
    assert dem["J4"] == pytest.approx(0.75 * 86.4 * 2.0)  # [DEMANDS] replaces the junction's own demand
    assert [p.kind for p in m.pumps] == ["pump"] and [v.kind for v in m.valves] == ["PRV"]


def test_epanet_alone_lays_streets_along_the_mains() -> None:
    c = city(water_file=str(FIXTURES / "small.inp"))
    w = c.water
    assert c.meta["generated"] == "roads pipe_ages valves zones stations"
    # R1 and J1 (pump), J3 and J4 (valve) are merged; J7 sits only on a closed pipe.
    assert c.roads.n_nodes == 6 and w.n_pipes == 7 and (w.road_link >= 0).all()
    assert np.allclose(c.roads.length_m, [400, 300, 300, 400, 300, 500, 200])
    # The PRV becomes an isolation valve on the main leaving its downstream end.
    v1 = next(v for v in w.valves if v.id == "V1")
    assert w.pipe_ids[v1.pipe] == "P3"
    # Customers: (1.5 + 0.75) L/s x 86.4 x 2 / 0.5 m3 per customer a day at the merged J3/J4.
    assert w.customers.max() == round((1.5 + 0.75) * 86.4 * 2 / 0.5)
    assert len(w.sources) == 2  # the reservoir (behind the pump) and the tank
    only_file = city(water_file=str(FIXTURES / "small.inp"), water_valves="file")
    assert [v.id for v in only_file.water.valves] == ["V1"] and "valves" not in only_file.meta["generated"]


def test_crlf_and_lf_files_load_the_same(tmp_path: Path) -> None:
    text = (FIXTURES / "small.inp").read_text()
    crlf = tmp_path / "crlf.inp"
    crlf.write_bytes(text.replace("\n", "\r\n").encode())
    a, b = city(water_file=str(FIXTURES / "small.inp")), city(water_file=str(crlf))
    assert a.water.pipe_ids == b.water.pipe_ids and np.array_equal(a.water.customers, b.water.customers)
    assert np.array_equal(a.roads.x_m, b.roads.x_m) and a.water.valves == b.water.valves


def test_epanet_snapped_onto_roads() -> None:
    c = city(roads_file=str(FIXTURES / "grid_net.tntp"), water_file=str(FIXTURES / "small.inp"))
    assert c.meta["water_align"] == "bbox" and c.roads.n_nodes == 9
    assert "roads" not in c.meta["generated"] and "water" not in c.meta["generated"]
    assert (c.water.road_link >= 0).sum() >= 5
    check_city(c)


def test_projection_round_trip() -> None:
    lon, lat = np.array([118.70, 118.90]), np.array([31.95, 32.10])
    x, y, lon0, lat0 = project_lonlat(lon, lat)
    back = unproject(x, y, lon0, lat0)
    assert np.allclose(back[0], lon, atol=1e-9) and np.allclose(back[1], lat, atol=1e-9)


def test_same_files_same_seed_same_city() -> None:
    a = city(roads_file=str(FIXTURES / "grid_net.tntp"))
    b = city(roads_file=str(FIXTURES / "grid_net.tntp"))
    assert a.stations == b.stations and a.zones == b.zones and a.water.valves == b.water.valves
    assert np.array_equal(a.water.customers, b.water.customers)


def test_a_loaded_city_runs_a_pipe_burst(tmp_path: Path) -> None:
    cfg = make(["city=from_files", f"city.roads_file={FIXTURES / 'town.graphml'}",
                f"city.water_file={FIXTURES / 'small.inp'}", "scenario=pipe_burst", "run.horizon_s=21600",
                "run.report=false", "scenario.pipe_burst.bursts=[{pipe: P4, t_s: 3600}]"])
    summary = simulate(cfg, tmp_path / "run")
    assert summary["status"] == "ok" and summary["city"]["generated"] == "pipe_ages valves zones stations"
    assert summary["city"]["water_file"].endswith("small.inp") and summary["n_hazards"] == 1
    events = (tmp_path / "run" / "events.csv").read_text()
    assert "water.pipe.P4" in events and ",isolate," in events


def test_no_file_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        city()
    assert err.value.key == "city.roads_file"


# ------------------------------------------------- the public networks (../shared/data)
@pytest.mark.parametrize(
    ("roads", "nodes", "links"),
    [("tntp/Anaheim_net.tntp", 416, 634), ("tntp/ChicagoSketch_net.tntp", 933, 1475),
     ("tntp/SiouxFalls_net.tntp", 24, 38)],
)
def test_public_tntp_networks(shared_data: Path, roads: str, nodes: int, links: int) -> None:
    c = city(roads_file=str(shared_data / roads))
    assert (c.roads.n_nodes, c.roads.n_links) == (nodes, links)
    check_city(c)


def test_anaheim_coordinates_are_lon_lat(shared_data: Path) -> None:
    c = city(roads_file=str(shared_data / "tntp/Anaheim_net.tntp"))
    lon, lat = unproject(c.roads.x_m, c.roads.y_m, c.meta["geo_origin_lon"], c.meta["geo_origin_lat"])
    assert lon[0] == pytest.approx(-117.880141713707729, abs=1e-7)  # node 1 of anaheim_nodes.geojson
    assert lat[0] == pytest.approx(33.871155530597115, abs=1e-7)


@pytest.mark.parametrize(("water", "pipes"), [("Net1.inp", 12), ("Net3.inp", 116), ("ky10.inp", 1043)])
def test_public_epanet_networks(shared_data: Path, water: str, pipes: int) -> None:
    c = city(water_file=str(shared_data / "epanet" / water))
    assert c.water.n_pipes == pipes and c.water.customers.sum() > 0 and c.water.sources
    check_city(c)


def test_net3_on_anaheim(shared_data: Path) -> None:
    c = city(roads_file=str(shared_data / "tntp/Anaheim_net.tntp"), water_file=str(shared_data / "epanet/Net3.inp"))
    assert c.meta["water_align"] == "bbox" and c.water.n_pipes == 116 and c.roads.n_nodes == 416
    check_city(c)


def test_projected_graphml_keeps_its_crs(tmp_path: Path) -> None:
    from analysis.export import _frame

    g = nx.MultiDiGraph(crs="EPSG:32650")
    for n, (x, y) in {1: (668000.0, 3546000.0), 2: (668300.0, 3546000.0), 3: (668300.0, 3546300.0)}.items():
        g.add_node(n, x=x, y=y)
    for a, b in ((1, 2), (2, 3), (3, 1)):
        g.add_edge(a, b, highway="primary", oneway=False)
        g.add_edge(b, a, highway="primary", oneway=False)
    nx.write_graphml(g, tmp_path / "utm.graphml")
    c = city(roads_file=str(tmp_path / "utm.graphml"))
    assert c.meta["crs"] == "EPSG:32650" and "geo_origin_lon" not in c.meta
    assert c.roads.x_m[0] == 668000.0 and c.roads.length_m[0] == pytest.approx(300.0)  # from the coordinates
    crs = _frame({"city": {"crs": "EPSG:32650"}})[1]
    assert crs == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32650"}}
