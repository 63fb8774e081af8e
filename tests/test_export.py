"""GIS out (``cityres-export RUN_DIR --geojson``) and untrusted names in the outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.export import LAYERS, export_geojson, main
from sim.runner import simulate
from tests.test_config import make

FIXTURES = Path(__file__).parent / "fixtures"
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export")
    lonlat = root / "lonlat"
    simulate(make(["city=from_files", f"city.roads_file={FIXTURES / 'town.graphml'}",
                   f"city.water_file={FIXTURES / 'small.inp'}", "run.horizon_s=21600", "run.report=false",
                   "scenario.pipe_burst.bursts=[{pipe: P4, t_s: 3600}]"]), lonlat)
    # A water utility's file whose ids and the city's name are markup: they must stay text.
    inp = root / "evil.inp"
    inp.write_text((FIXTURES / "small.inp").read_text().replace(" P4 ", " <b>P4</b> "))
    local = root / "local"
    simulate(make(["city=from_files", f"city.water_file={inp}", f"city.name='{EVIL}'", "run.horizon_s=43200",
                   "scenario.pipe_burst.bursts=[{pipe: '<b>P4</b>', t_s: 3600}]"]), local)
    return {"lonlat": lonlat, "local": local}


def load(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and isinstance(doc["features"], list)
    for f in doc["features"]:
        assert f["type"] == "Feature" and set(f) == {"type", "geometry", "properties"}
        assert f["geometry"]["type"] in ("Point", "LineString", "MultiLineString", "Polygon")
    return doc


def test_lon_lat_city_is_written_back_in_wgs84(runs: dict[str, Path]) -> None:
    files = export_geojson(runs["lonlat"])
    assert [f.stem for f in files] == list(LAYERS) and all(f.parent == runs["lonlat"] / "gis" for f in files)
    roads = load(runs["lonlat"] / "gis" / "roads.geojson")
    assert "crs" not in roads  # RFC 7946: WGS84 lon/lat
    corners = {tuple(c) for f in roads["features"] for c in f["geometry"]["coordinates"]}
    for lon, lat in ((118.78, 32.04), (118.7832, 32.04), (118.7832, 32.0427), (118.78, 32.0427)):
        assert min(abs(a - lon) + abs(b - lat) for a, b in corners) < 3e-6  # 0.1 m rounding in the run folder
    assert {f["properties"]["road_class"] for f in roads["features"]} == {"local", "arterial"}
    zones = load(runs["lonlat"] / "gis" / "zones.geojson")
    for f in zones["features"]:
        ring = f["geometry"]["coordinates"][0]
        assert ring[0] == ring[-1] and len(ring) >= 4
    outages = load(runs["lonlat"] / "gis" / "outages.geojson")
    assert [f["properties"]["pipe"] for f in outages["features"]] == ["P4"]
    assert outages["features"][0]["properties"]["t_burst_s"] == 3600.0


def test_local_plane_with_closures_outages_and_a_crs_note(runs: dict[str, Path]) -> None:
    p = subprocess.run([sys.executable, "-m", "analysis.export", str(runs["local"]), "--geojson"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    gis = runs["local"] / "gis"
    assert p.stdout.strip() == str(gis)
    roads = load(gis / "roads.geojson")
    assert "LOCAL_CS" in roads["crs"]["properties"]["name"]
    closures = load(gis / "closures.geojson")["features"]
    assert len(closures) == 1 and closures[0]["properties"]["t_close_s"] > 3600.0
    outage = load(gis / "outages.geojson")["features"][0]["properties"]
    assert outage["pipe"] == "<b>P4</b>" and outage["t_isolate_s"] is not None and outage["customers_out"] >= 0
    pipes = {f["properties"]["pipe"]: f["properties"] for f in load(gis / "pipes.geojson")["features"]}
    assert pipes["<b>P4</b>"]["bursts"] == 1 and pipes["<b>P4</b>"]["out_s"] > 0
    incidents = load(gis / "incidents.geojson")["features"]
    assert any(f["properties"]["type"] == "water_main_break" for f in incidents)
    stations = load(gis / "stations.geojson")["features"]
    assert {f["properties"]["kind"] for f in stations} == {"fire", "ambulance", "water_depot"}


def test_export_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "no-such-run"), "--geojson"]) == 2
    assert "no-such-run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as err:
        main([str(tmp_path)])
    assert err.value.code == 2


def test_names_from_configs_and_files_render_as_text(runs: dict[str, Path]) -> None:
    html = (runs["local"] / "report.html").read_text(encoding="utf-8")
    assert EVIL not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>P4</b>" not in html
    summary = json.loads((runs["local"] / "summary.json").read_text())
    assert summary["city"]["name"] == EVIL and summary["status"] == "ok"


def test_hospitals_substations_and_pumps_are_on_the_map_and_in_gis(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from analysis.citymap import city_map_figure
    from analysis.rundir import load_run
    from sim.config import Config
    from sim.rng import Streams
    from sim.runner import build_city

    cfg = Config()
    cfg.run.horizon_s = 3600.0
    cfg.run.report = False
    simulate(cfg, tmp_path / "run")
    city = build_city(cfg.city, Streams(cfg.seed))
    run = load_run(tmp_path / "run")
    fac = run.city["facilities"]
    assert city.power is not None and city.facilities and city.water.pumps
    expected = ({("hospital", f.id, f.node) for f in city.facilities}
                | {("substation", s.id, s.node) for s in city.power.substations}
                | {("pump_station", p.id, p.node) for p in city.water.pumps})
    assert set(zip(fac["kind"], fac["facility"], fac["node"], strict=True)) == expected
    x = run.city["nodes"].set_index("node")["x_m"]
    assert (fac["x_m"] - x.loc[fac["node"]].to_numpy()).abs().max() <= 0.05
    fig = city_map_figure(run.city, run.incidents, run.events, service=run.service)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    assert f"Hospital ({len(city.facilities)})" in labels
    assert f"Substation ({len(city.power.substations)})" in labels
    export_geojson(tmp_path / "run")
    feats = load(tmp_path / "run" / "gis" / "facilities.geojson")["features"]
    assert sorted(f["properties"]["kind"] for f in feats) == sorted(k for k, _, _ in expected)
