"""The column-wise city writer gives the same bytes as the row-by-row csv writer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from sim.city import City
from sim.config import CityConfig
from sim.district import build_district
from sim.log import CITY_FILES
from sim.output import write_city, write_table
from tests.conftest import line_city


def reference_city_files(d: Path, city: City) -> None:
    """The row-by-row writer: one fmt call per cell through the csv module."""
    r, w = city.roads, city.water
    write_table(d / "nodes.csv", CITY_FILES["nodes.csv"],
                ((i, round(float(r.x_m[i]), 1), round(float(r.y_m[i]), 1), round(float(r.elev_m[i]), 2))
                 for i in range(r.n_nodes)))
    write_table(d / "links.csv", CITY_FILES["links.csv"],
                ((i, int(r.u[i]), int(r.v[i]), int(r.road_class[i]), round(float(r.length_m[i]), 1),
                  float(r.speed_kmh[i]), bool(r.bridge[i]), bool(r.tunnel[i]), bool(r.underpass[i]))
                 for i in range(r.n_links)))
    write_table(d / "pipes.csv", CITY_FILES["pipes.csv"],
                ((w.pipe_ids[j], int(w.u[j]), int(w.v[j]), round(float(w.length_m[j]), 1),
                  float(w.diameter_mm[j]), w.material[j], int(w.install_year[j]), int(w.road_link[j]))
                 for j in range(w.n_pipes)))


def assert_same_files(tmp_path: Path, city: City) -> None:
    write_city(tmp_path / "fast", city)
    reference_city_files(tmp_path / "ref", city)
    for name in ("nodes.csv", "links.csv", "pipes.csv"):
        fast = (tmp_path / "fast" / "city" / name).read_bytes()
        assert fast == (tmp_path / "ref" / name).read_bytes(), name
        assert fast.count(b"\n") > 1


def test_district_city_files_match_the_row_writer(tmp_path: Path) -> None:
    assert_same_files(tmp_path, build_district(CityConfig(), np.random.default_rng(3)))


def test_awkward_values_match_the_row_writer(tmp_path: Path) -> None:
    city = line_city(4)
    roads = dataclasses.replace(
        city.roads,
        x_m=np.array([-0.04, 2.675, 1e9 + 0.05, 0.25]),  # rounds to -0; a binary tie; large values
        elev_m=np.array([np.nan, -0.001, 1.005, 3.0]),
        speed_kmh=np.array([36.0, 12.3456789, 1e-7]),
    )
    water = dataclasses.replace(city.water, pipe_ids=("P1", 'P"2', "P,3"), material=("DI", "", "CI"))
    assert_same_files(tmp_path, dataclasses.replace(city, roads=roads, water=water))


def test_tables_written_in_chunks_are_the_same_bytes(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import sim.output as output

    rows = [(i, float(i) / 3, f"r{i}", i % 2 == 0, None) for i in range(23)]
    cells = [[str(i) for i in range(23)], [f"c{i}" for i in range(23)]]
    output.write_table(tmp_path / "one.csv", ("a", "b", "c", "d", "e"), rows)
    output.write_columns(tmp_path / "one_cols.csv", ("a", "b"), cells)
    monkeypatch.setattr(output, "CHUNK_ROWS", 5)
    output.write_table(tmp_path / "chunked.csv", ("a", "b", "c", "d", "e"), rows)
    output.write_columns(tmp_path / "chunked_cols.csv", ("a", "b"), cells)
    one = (tmp_path / "one.csv").read_bytes()
    assert one == (tmp_path / "chunked.csv").read_bytes() and one.count(b"\n") == 24
    assert (tmp_path / "one_cols.csv").read_bytes() == (tmp_path / "chunked_cols.csv").read_bytes()
    assert (tmp_path / "one_cols.csv").read_bytes().count(b"\n") == 24
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file is left behind"
