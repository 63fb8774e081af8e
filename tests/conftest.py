"""Shared fixtures: tiny deterministic worlds built by hand."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

from sim.city import City, Roads, Station, UnitSpec, Valve, WaterNetwork, Zone

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
# Generated cities are cached on disk (sim/citycache.py): the tests keep theirs apart from the user's.
os.environ.setdefault("CITYRES_CACHE_DIR", tempfile.mkdtemp(prefix="cityres-test-cities-"))


@pytest.fixture(autouse=True)
def _no_city_held_across_tests() -> object:
    """A test starts without the city an earlier test left in memory (sim/citycache.py)."""
    from sim import citycache

    citycache.forget()
    yield
    citycache.forget()


def line_city(
    n: int = 3,
    spacing_m: float = 1000.0,
    speed_kmh: float = 36.0,
    units: tuple[tuple[str, str, int], ...] = (("FS1", "engine", 0),),
    customers: tuple[int, ...] | None = None,
    valves: tuple[tuple[int, int], ...] = (),
) -> City:
    """``n`` nodes on a line, ``spacing_m`` apart (100 s per link at the defaults).

    ``units``: (station id, unit kind, node). Water mains follow the links, fed
    from node 0; ``valves``: (pipe index, node).
    """
    x = np.arange(n, dtype=float) * spacing_m
    m = n - 1
    roads = Roads(
        x_m=x, y_m=np.zeros(n), elev_m=np.full(n, 10.0),
        u=np.arange(m), v=np.arange(1, n), length_m=np.full(m, spacing_m),
        speed_kmh=np.full(m, speed_kmh), road_class=np.full(m, 2), oneway=np.zeros(m, bool),
        bridge=np.zeros(m, bool), tunnel=np.zeros(m, bool), underpass=np.zeros(m, bool),
    )
    stations = []
    by_station: dict[str, list[tuple[str, int]]] = {}
    for sid, kind, node in units:
        by_station.setdefault(sid, []).append((kind, node))
    for sid, lst in by_station.items():
        specs = tuple(UnitSpec(id=f"{sid}.{k[0].upper()}{i + 1}", kind=k, station=sid) for i, (k, _) in enumerate(lst))
        stations.append(Station(id=sid, kind="fire", node=lst[0][1], units=specs))
    cust = np.array(customers if customers is not None else [0] + [10] * (n - 1), dtype=np.int64)
    water = WaterNetwork(
        pipe_ids=tuple(f"P{j + 1}" for j in range(m)), u=np.arange(m), v=np.arange(1, n),
        length_m=np.full(m, spacing_m), diameter_mm=np.full(m, 150.0), material=("DI",) * m,
        install_year=np.full(m, 2000), road_link=np.arange(m), sources=(0,),
        valves=tuple(Valve(id=f"V{k + 1}", pipe=p, node=nd) for k, (p, nd) in enumerate(valves)),
        customers=cust,
    )
    zones = (Zone(id="Z01", name="Line", node=0, x_m=0.0, y_m=0.0, area_km2=1.0, population=100,
                  households=int(cust.sum()), water_node=0),)
    return City(name="line", roads=roads, zones=zones, highrises=(), stations=tuple(stations), water=water)


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DATA} (only in the project's workspace)")
    return SHARED_DATA


# ----------------------------------------------------------- drill scripts
@pytest.fixture(scope="module")
def playbook() -> dict:
    """The shipped drill playbook, checked."""
    from analysis.drill_playbook import load_playbook

    return load_playbook()


@pytest.fixture(scope="module")
def drills(runs: dict[str, Path], playbook: dict) -> dict:
    """(run name, language) -> the functional drill of each run in the module's ``runs`` fixture."""
    from analysis.drill import DrillOptions, build_drill
    from analysis.rundir import load_run

    return {(name, lang): build_drill(load_run(path), DrillOptions(lang=lang), playbook)
            for name, path in runs.items() for lang in ("zh", "en")}
