"""The disk cache of generated cities: same config and seed, same city; anything else, a new one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sim import citycache
from sim.config import Config
from sim.runner import prepare, simulate


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "cities"
    monkeypatch.setenv("CITYRES_CACHE_DIR", str(d))
    monkeypatch.setattr(citycache, "MIN_BUILD_S", 0.0)  # the district builds in well under a second
    monkeypatch.setattr(citycache, "_last", {})  # nothing held from an earlier test: read from the disk
    return d


def same(a: Any, b: Any, where: str = "city") -> None:
    """Field by field: arrays equal with their dtypes, everything else ==."""
    assert type(a) is type(b), where
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}[{k!r}]")
    else:
        assert a == b, where


def district(seed: int = 0, **city: object) -> Config:
    cfg = Config(seed=seed)
    cfg.run.report = False
    cfg.run.horizon_s = 6 * 3600.0
    for k, v in city.items():
        setattr(cfg.city, k, v)
    return cfg


def test_the_same_config_and_seed_load_the_identical_city(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built = prepare(district()).city
    files = list(cache.glob("district-*.npz"))
    assert len(files) == 1
    import sim.runner

    def no_build(*_: object) -> None:
        raise AssertionError("built again instead of read from the cache")

    monkeypatch.setattr(sim.runner, "build_city", no_build)
    citycache._last.clear()  # from the disk, not from memory
    loaded = prepare(district()).city
    assert loaded is not built
    same(loaded, built)


def test_a_changed_config_seed_or_generator_gives_another_city(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = district()
    key = citycache.city_key(base.city, 0)
    assert citycache.city_key(district().city, 0) == key
    assert citycache.city_key(district(population=150_000).city, 0) != key
    assert citycache.city_key(base.city, 1) != key
    a = prepare(base).city
    b = prepare(district(population=150_000)).city
    assert a.population != b.population and len(list(cache.glob("*.npz"))) == 2
    monkeypatch.setattr(citycache, "_code_hash", lambda: "another generator")
    assert citycache.city_key(base.city, 0) != key


def test_cached_and_fresh_runs_write_the_same_bytes(cache: Path, tmp_path: Path) -> None:
    cfg = district(seed=3)
    cfg.scenario.name = "pipe_burst"
    fresh = district(seed=3)
    fresh.scenario.name = "pipe_burst"
    fresh.run.city_cache = False
    simulate(cfg, tmp_path / "first")  # builds and stores
    simulate(cfg, tmp_path / "cached")  # reads
    simulate(fresh, tmp_path / "fresh")  # no cache at all
    assert len(list(cache.glob("*.npz"))) == 1
    for name in ("events.csv", "incidents.csv", "service.csv", "hazards.csv", "city/nodes.csv", "city/pipes.csv"):
        first = (tmp_path / "first" / name).read_bytes()
        assert (tmp_path / "cached" / name).read_bytes() == first == (tmp_path / "fresh" / name).read_bytes(), name


def test_an_unreadable_file_is_rebuilt_and_replaced(cache: Path) -> None:
    city = prepare(district()).city
    (path,) = cache.glob("*.npz")
    path.write_bytes(b"not a city file")
    citycache._last.clear()  # from the disk, not from memory
    again = prepare(district()).city
    same(again, city)
    assert citycache.load_city(path).population == city.population


def test_off_switch_small_builds_and_the_size_cap(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = district()
    cfg.run.city_cache = False
    prepare(cfg)
    assert not cache.exists() or not list(cache.glob("*.npz"))
    monkeypatch.setattr(citycache, "MIN_BUILD_S", 1e9)  # nothing is slow enough to keep
    prepare(district())
    assert not cache.exists() or not list(cache.glob("*.npz"))
    monkeypatch.setattr(citycache, "MIN_BUILD_S", 0.0)
    monkeypatch.setenv("CITYRES_CACHE_MAX_MB", "0.000001")  # room for the newest only
    prepare(district(population=140_000))
    prepare(district(population=150_000))
    (kept,) = cache.glob("*.npz")
    assert citycache.load_city(kept).population == 150_000


def test_city_files_are_copied_from_the_cache(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = district(seed=2)
    simulate(cfg, tmp_path / "first")  # builds, writes city/*.csv, keeps a copy
    (folder,) = cache.glob("*.city")
    assert (folder / "complete").is_file() and len(list(folder.glob("*.csv"))) >= 6
    import sim.output
    import sim.runner

    def no_write(*_: object) -> None:
        raise AssertionError("city files formatted again instead of copied")

    monkeypatch.setattr(sim.runner, "write_city", no_write)
    monkeypatch.setattr(sim.output, "write_city", no_write)
    citycache.forget()  # the city and its files from the disk, not from memory
    simulate(cfg, tmp_path / "second")
    first = sorted(p.name for p in (tmp_path / "first" / "city").iterdir())
    assert sorted(p.name for p in (tmp_path / "second" / "city").iterdir()) == first  # no temporary names left
    for name in first:
        assert (tmp_path / "second" / "city" / name).read_bytes() == (tmp_path / "first" / "city" / name).read_bytes()


def test_a_city_file_holds_no_pickle_and_names_only_city_records(cache: Path) -> None:
    city = prepare(district()).city
    (path,) = cache.glob("*.npz")
    with np.load(path, allow_pickle=False) as npz:  # would raise on an object array
        assert all(npz[k].dtype != object for k in npz.files)
    same(citycache.load_city(path), city)
    # A file naming anything but a sim.city record is refused, and the run rebuilds.
    arrays = dict(np.load(path, allow_pickle=False))
    doc = arrays.pop("__doc__").tobytes().decode("utf-8").replace('"__dc__": "City"', '"__dc__": "Path"', 1)
    arrays["__doc__"] = np.frombuffer(doc.encode("utf-8"), dtype=np.uint8)
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ValueError, match="not a city record"):
        citycache.load_city(path)
    same(prepare(district()).city, city)


def test_city_seed_pins_the_city_while_the_days_follow_the_run_seed(cache: Path, tmp_path: Path) -> None:
    """``city.seed``: one city for every replication; null (the default) draws the city from the run seed."""
    assert district().city.seed is None
    pinned = district(seed=0)
    pinned.city.seed = 0
    assert citycache.city_key(pinned.city, 0) == citycache.city_key(district().city, 0)
    runs = {}
    for name, seed, city_seed in (("default0", 0, None), ("pinned0", 0, 0), ("day1", 1, 0), ("city1", 1, None)):
        cfg = district(seed=seed)
        cfg.city.seed = city_seed
        cfg.scenario.name = "pipe_burst"
        cfg.run.report = name in ("pinned0", "day1")
        cfg.run.city_cache = False  # each city built by its run: a cached one would hide a wrong seed
        simulate(cfg, tmp_path / name)
        runs[name] = tmp_path / name
    files = ("city/nodes.csv", "city/pipes.csv", "city/stations.csv")

    def read(run: str, name: str) -> bytes:
        return (runs[run] / name).read_bytes()

    # Pinning the city to the run's own seed changes nothing at all.
    for name in (*files, "events.csv", "incidents.csv", "hazards.csv"):
        assert read("pinned0", name) == read("default0", name), name
    # Another day in the same city: the same networks and stations, other bursts and calls.
    for name in files:
        assert read("day1", name) == read("default0", name), name
        assert name == "city/stations.csv" or read("city1", name) != read("default0", name), name
    assert read("day1", "hazards.csv") != read("default0", "hazards.csv")
    assert read("day1", "incidents.csv") != read("default0", "incidents.csv")
    summary = json.loads((runs["day1"] / "summary.json").read_text())
    assert (summary["seed"], summary["city"]["seed"]) == (1, 0)
    assert "City seed" in (runs["day1"] / "report.md").read_text()
    assert "City seed" not in (runs["pinned0"] / "report.md").read_text()


@pytest.mark.parametrize("scenario", ["pipe_burst", "waterlogging", "gas_leak", "power_outage", "ebike_fire",
                                      "compound"])
def test_a_city_held_from_the_last_run_gives_the_bytes_a_fresh_one_does(tmp_path: Path, scenario: str) -> None:
    """The jobs of a sweep share the last city in memory: no run may change it for the next."""
    def cfg(seed: int) -> Config:
        c = Config(seed=seed)
        c.scenario.name = scenario
        c.scenario.waterlogging.dry_twin = False
        c.run.report = False
        c.run.horizon_s = 24 * 3600.0 if scenario in ("waterlogging", "compound") else 12 * 3600.0
        c.scenario.parts = ["waterlogging", "power_outage", "gas_leak"] if scenario == "compound" else []
        c.city.seed = 0
        return c

    citycache.forget()
    simulate(cfg(1), tmp_path / "fresh")
    held = citycache._last["city"]
    meta = dict(held.meta)
    simulate(cfg(2), tmp_path / "other")  # takes the city the first run left in memory
    simulate(cfg(1), tmp_path / "held")
    assert citycache._last["city"] is held and citycache._last["files"] is not None and held.meta == meta
    for name in ("events.csv", "incidents.csv", "service.csv", "hazards.csv", "city/nodes.csv", "city/pipes.csv"):
        assert (tmp_path / "held" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name
    assert not held.roads.x_m.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        held.roads.x_m[0] = 0.0


def test_the_city_held_in_memory_is_the_one_asked_for(tmp_path: Path) -> None:
    citycache._last.clear()
    a = prepare(district(seed=1)).city
    assert prepare(district(seed=1)).city is a  # the same key: the same object
    b = prepare(district(seed=2)).city
    assert b is not a and prepare(district(seed=1)).city is not a  # one city held, the last one
    off = district(seed=2)
    off.run.city_cache = False
    assert prepare(off).city is not b  # run.city_cache=false builds every time


def test_freeze_reaches_every_array_but_skips_records_of_scalars() -> None:
    @dataclasses.dataclass(frozen=True)
    class Rec:
        id: str
        node: int

    @dataclasses.dataclass(frozen=True)
    class WithArray:
        id: str
        xs: np.ndarray | None

    @dataclasses.dataclass(frozen=True)
    class Top:
        recs: tuple[Rec, ...]
        mixed: tuple[WithArray, ...]
        meta: dict[str, Any]

    inner = np.zeros(3)
    top = Top(tuple(Rec(str(i), i) for i in range(1000)), (WithArray("a", None), WithArray("b", inner)),
              {"nested": [np.ones(2)]})
    assert citycache._freeze(top)
    assert not inner.flags.writeable and not top.meta["nested"][0].flags.writeable
    assert not citycache._freeze({"graph": {1, 2}}) and not citycache._freeze([np.array([None])])


def test_a_city_that_cannot_be_frozen_is_not_held(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(citycache, "_freeze", lambda city: False)
    city = prepare(district()).city
    assert citycache._last == {} and prepare(district()).city is not city


def test_a_held_city_whose_file_was_trimmed_writes_its_files_and_no_orphan_folder(cache: Path,
                                                                                tmp_path: Path) -> None:
    cfg = district(seed=4)
    simulate(cfg, tmp_path / "first")  # stores the city and its files, holds the city (not its files: cached)
    (npz,) = cache.glob("*.npz")
    citycache._last["files"] = None
    npz.unlink()  # another process trimmed the cache
    for folder in cache.glob("*.city"):
        import shutil

        shutil.rmtree(folder)
    simulate(cfg, tmp_path / "second")
    assert not list(cache.glob("*.city")) and len(list((tmp_path / "second" / "city").glob("*.csv"))) >= 6
