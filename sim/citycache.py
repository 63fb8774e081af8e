"""A disk cache of generated cities, keyed by what they are built from.

A generated metropolis takes seconds to build (~5.5 s for ``city=metro`` on
the 2-core machine, more than a simulated day of pipe bursts), and a
planner comparing policies on the same seed builds the same city every
time. :func:`cached_city` keeps each built city in an ``.npz`` file under
``$CITYRES_CACHE_DIR`` (default ``$XDG_CACHE_HOME/cityres/cities``, i.e.
``~/.cache/cityres/cities``), named by a SHA-256 of

* the city config (every field of ``cfg.city`` but ``seed``),
* the seed the city is drawn from (``city.seed``, or else the run seed: the
  ``city`` stream of that seed), and
* the source of the ``sim`` package (so a change of the generator, or of the
  ``City`` classes, never reads an old city).

The file holds no pickle (:func:`numpy.load` with ``allow_pickle=False``):
the city's arrays as they are, long tuples of small records (valves, zones,
high-rises) as one array per field, and the rest as JSON naming only the
dataclasses of :mod:`sim.city`, so reading a cache file cannot run code.

The city's geometry files (``city/*.csv`` of the run folder, ~4 s to format
for the metropolis) are kept beside it, in ``<name>.city/``, the first time a
run writes them, and copied into later run folders (:func:`write_city_files`).

A city goes into the cache only if building it took at least
:data:`MIN_BUILD_S` (small cities build faster than a pickle loads). Files are
written to a temporary name and renamed into place, so concurrent sweep jobs
are safe; the cache keeps at most ``$CITYRES_CACHE_MAX_MB`` (default 2048)
and drops the least recently used beyond that. A file that cannot be read is
rebuilt and replaced. ``run.city_cache=false`` bypasses the cache.

Only cities the generators make are cached (``district``, ``metro``): a
``from_files`` city depends on files the key does not see.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from sim import city as city_module
from sim.city import City
from sim.config import CityConfig
from sim.output import atomic_stream, atomic_write

__all__ = ["CACHED_KINDS", "MIN_BUILD_S", "cache_dir", "cached_city", "city_key", "forget", "write_city_files"]

log = logging.getLogger(__name__)

#: City kinds whose build depends only on the config and the seed.
CACHED_KINDS = ("district", "metro")
#: Builds faster than this are not worth a file.
MIN_BUILD_S = 1.0
#: A city's ``city/*.csv`` files are kept in memory between runs up to this size (a district's are
#: ~0.4 MB and take ~70 ms to format); a metropolis's are copied from the cache folder instead.
MAX_HELD_FILES_B = 16 * 2**20


def cache_dir() -> Path:
    env = os.environ.get("CITYRES_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cityres" / "cities"


@cache
def _code_hash() -> str:
    """SHA-256 of every module of the ``sim`` package (names and bytes, in name order)."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode("utf-8"))
        h.update(path.read_bytes())
    return h.hexdigest()


def city_key(cfg: CityConfig, seed: int) -> str:
    """The cache key of the city ``cfg`` builds from seed ``seed`` (``city.seed``, or the run's seed)."""
    city = dataclasses.asdict(cfg)
    city.pop("seed")  # the seed the city is drawn from is ``seed``, however it was chosen
    doc = {"city": city, "seed": int(seed), "code": _code_hash()}
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The last city this process built or read, by key, with its cache file and its ``city/*.csv``
#: bytes once a run has written them: the jobs of a sweep run in one process (or one per
#: worker), and with ``city.seed`` pinned they all ask for the same city.
_last: dict[str, Any] = {}


def _freeze(obj: Any, seen: set[int] | None = None) -> bool:
    """Make every array of ``obj`` (a city, through its dataclasses, tuples and dicts) read-only.

    A city is shared by the runs of one process: a model that wrote into one
    of its arrays would change the next run's city, so it raises instead.
    False when ``obj`` holds something else (a graph, a sparse matrix, a
    set) that cannot be made read-only: such a city is not held.
    """
    seen = set() if seen is None else seen
    if isinstance(obj, _FREEZE_SCALARS) or id(obj) in seen:
        return True
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            return False
        obj.flags.writeable = False
        return True
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return all([_freeze(getattr(obj, f.name), seen) for f in dataclasses.fields(obj)])
    if isinstance(obj, (tuple, list)):
        if obj and _plain_records(obj):
            return True  # thousands of valves or high-rises: records of numbers and names only
        return all([_freeze(v, seen) for v in obj])
    if isinstance(obj, dict):
        return all([_freeze(v, seen) for v in obj.values()])
    return False


_FREEZE_SCALARS = (str, int, float, bool, type(None), np.generic)


def _plain_records(seq: tuple[Any, ...] | list[Any]) -> bool:
    """Every item a dataclass of one class whose fields are declared (and type-checked) as scalars."""
    kind = type(seq[0])
    if not dataclasses.is_dataclass(seq[0]) or any(type(v) is not kind for v in seq):
        return False
    return all(str(f.type).replace(" ", "") in _SCALAR_TYPES for f in dataclasses.fields(seq[0]))


_SCALAR_TYPES = {t + none for t in ("str", "int", "float", "bool") for none in ("", "|None")}


def forget() -> None:
    """Let go of the city held in memory (e.g. a metropolis in a notebook, after its last run)."""
    _last.clear()


def _remember(key: str, city: City, path: Path | None) -> tuple[City, Path | None]:
    _last.clear()
    if _freeze(city):
        _last.update(key=key, city=city, path=path, files=None)
    else:
        log.info("city not held in memory: it holds an object that cannot be made read-only")
    return city, path


def cached_city(cfg: CityConfig, seed: int, build: Callable[[], City],
                enabled: bool = True) -> tuple[City, Path | None]:
    """The city ``build()`` makes for ``cfg`` and ``seed``, from the cache when it holds it, and the
    cache file that holds it now (None when it is not cached).

    The last city asked for stays in memory (read-only), so the next run of
    this process that asks for it again takes it as it is, whatever its build time.
    """
    if not enabled or cfg.kind not in CACHED_KINDS:
        return build(), None
    key = city_key(cfg, seed)
    path = cache_dir() / f"{cfg.kind}-{key[:32]}.npz"
    if _last.get("key") == key:
        log.info("city from memory (the last run's)")
        held = _last["path"]
        if held is not None:
            try:
                os.utime(held)  # recently used, as a read would mark it
            except OSError:  # trimmed by another process meanwhile: the files are formatted again
                _last["path"] = held = None
        return _last["city"], held
    _last.clear()  # not two cities alive at once while the next is read or built
    if path.is_file():
        try:
            city = load_city(path)
            os.utime(path)  # recently used
            log.info("city from the cache: %s", path)
            return _remember(key, city, path)
        except Exception as exc:  # a truncated or foreign file: rebuild and replace it
            log.warning("city cache %s unreadable (%s); rebuilding", path, exc)
    t0 = time.perf_counter()
    city = build()
    if time.perf_counter() - t0 >= MIN_BUILD_S:
        try:
            _store(path, city)
            return _remember(key, city, path)
        except (OSError, TypeError) as exc:  # a full disk or a field the format lacks costs speed only
            log.warning("city cache not written (%s)", exc)
    return _remember(key, city, None)


def write_city_files(run_dir: Path, city: City, cached: Path | None, write: Callable[[Path, City], None]) -> None:
    """``write(run_dir, city)`` (the ``city/*.csv`` files), or a copy of them from the cache.

    The first run of a cached city writes them and keeps a copy beside the
    pickle; a later run copies each file to a temporary name in its folder
    and renames it into place, as every run-folder file is written.
    """
    held = _last.get("files") if _last.get("city") is city else None
    if held is not None:  # the same city's files, as the last run wrote them
        for name, data in held.items():
            atomic_write(Path(run_dir) / "city" / name, data)
        return
    files = cached.with_suffix(".city") if cached is not None else None
    if files is not None and files.is_dir() and (files / "complete").is_file():
        for src in sorted(files.glob("*.csv")):
            atomic_write(Path(run_dir) / "city" / src.name, src.read_bytes())
        return
    write(run_dir, city)
    if cached is not None and not cached.is_file():  # trimmed meanwhile: no folder of files without it
        files = None
    written = sorted((Path(run_dir) / "city").glob("*.csv"))
    if _last.get("city") is city and sum(f.stat().st_size for f in written) <= MAX_HELD_FILES_B:
        _last["files"] = {f.name: f.read_bytes() for f in written}
    if files is not None:
        staging: Path | None = None
        try:
            staging = Path(tempfile.mkdtemp(prefix=f".{files.name}.", dir=files.parent))
            for src in sorted((Path(run_dir) / "city").glob("*.csv")):
                shutil.copyfile(src, staging / src.name)
            (staging / "complete").write_text("")
            shutil.rmtree(files, ignore_errors=True)
            os.replace(staging, files)
        except OSError as exc:
            log.warning("city files not cached (%s)", exc)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)


def _store(path: Path, city: City) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    doc = _encode(city, arrays)
    arrays["__doc__"] = np.frombuffer(json.dumps(doc).encode("utf-8"), dtype=np.uint8)
    with atomic_stream(path, binary=True) as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    _trim(path.parent, keep=path)


def _trim(folder: Path, keep: Path) -> None:
    """Drop the least recently used cities (and their files) beyond ``$CITYRES_CACHE_MAX_MB``."""
    limit = float(os.environ.get("CITYRES_CACHE_MAX_MB", "2048")) * 2**20
    files = []
    for p in folder.glob("*.npz"):
        try:
            st = p.stat()
            extra = sum(f.stat().st_size for f in p.with_suffix(".city").glob("*.csv"))
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size + extra, p))
    total = sum(size for _, size, _ in files)
    for _, size, p in sorted(files):
        if total <= limit:
            break
        if p == keep:
            continue
        try:
            p.unlink()
            total -= size
        except OSError:
            pass
        shutil.rmtree(p.with_suffix(".city"), ignore_errors=True)


# ------------------------------------------------------------------ format
_SCALARS = (bool, int, float, str)
_COLUMNS_FROM = 64  # tuples of at least this many flat records are stored as columns


def _dataclass(name: str) -> type:
    cls = getattr(city_module, name, None)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"not a city record: {name!r}")
    return cls


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """JSON for ``obj``; its arrays go into ``arrays`` (types are kept exactly, numpy scalars too)."""
    if obj is None or type(obj) in _SCALARS:
        if isinstance(obj, float) and not np.isfinite(obj):
            return {"__float__": repr(obj)}
        return obj
    if isinstance(obj, np.ndarray):
        if obj.dtype.hasobject:
            raise TypeError("object arrays are not cached")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(obj)
        return {"__scalar__": key}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        if getattr(city_module, cls.__name__, None) is not cls:
            raise TypeError(f"{cls.__name__} is not a record of sim.city")
        return {"__dc__": cls.__name__,
                "f": {f.name: _encode(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj)}}
    if isinstance(obj, (tuple, list)):
        cols = _columns(obj, arrays)
        if cols is not None:
            return cols
        return {"__tuple__" if isinstance(obj, tuple) else "__list__": [_encode(x, arrays) for x in obj]}
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    raise TypeError(f"{type(obj).__name__} is not cached")


def _columns(items: tuple[Any, ...] | list[Any], arrays: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """A long tuple of one flat dataclass (every field a plain bool, int, float or str of one type)
    as one array per field, or None."""
    if len(items) < _COLUMNS_FROM or not isinstance(items, tuple):
        return None
    cls = type(items[0])
    if not dataclasses.is_dataclass(cls) or getattr(city_module, cls.__name__, None) is not cls:
        return None
    if any(type(x) is not cls for x in items):
        return None
    out = {}
    for f in dataclasses.fields(cls):
        values = [getattr(x, f.name) for x in items]
        kind = type(values[0])
        if kind not in _SCALARS or any(type(v) is not kind for v in values):
            return None
        key = f"a{len(arrays)}"
        arrays[key] = np.array(values, dtype={bool: np.bool_, int: np.int64, float: np.float64, str: np.str_}[kind])
        out[f.name] = [key, kind.__name__]
    return {"__cols__": cls.__name__, "n": len(items), "f": out}


def _decode(doc: Any, arrays: Any) -> Any:
    if not isinstance(doc, (dict, list)):
        return doc
    if isinstance(doc, list):
        raise ValueError("bare list in a city file")
    if "__float__" in doc:
        return float(doc["__float__"])
    if "__array__" in doc:
        return arrays[doc["__array__"]]
    if "__scalar__" in doc:
        return arrays[doc["__scalar__"]][()]
    if "__dc__" in doc:
        cls = _dataclass(doc["__dc__"])
        return cls(**{k: _decode(v, arrays) for k, v in doc["f"].items()})
    if "__tuple__" in doc:
        items = doc["__tuple__"]
        if all(type(x) in _SCALARS or x is None for x in items):  # e.g. a pump's lifted nodes
            return tuple(items)
        return tuple(_decode(x, arrays) for x in items)
    if "__list__" in doc:
        return [_decode(x, arrays) for x in doc["__list__"]]
    if "__dict__" in doc:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in doc["__dict__"]}
    if "__cols__" in doc:
        cls = _dataclass(doc["__cols__"])
        names = list(doc["f"])
        cols = []
        for name in names:
            key, kind = doc["f"][name]
            col = arrays[key].tolist()  # plain bool / int / float / str again
            if kind not in ("bool", "int", "float", "str") or len(col) != doc["n"]:
                raise ValueError(f"bad column {name!r} of {doc['__cols__']}")
            cols.append(col)
        if names != [f.name for f in dataclasses.fields(cls)]:
            raise ValueError(f"fields of {doc['__cols__']} changed")
        return tuple(map(cls, *cols))  # positional: the fields in their declared order
    raise ValueError(f"unknown record in a city file: {sorted(doc)[:3]}")


def load_city(path: Path) -> City:
    """Read a city written by this module (no pickles: ``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    doc = json.loads(arrays.pop("__doc__").tobytes().decode("utf-8"))
    city = _decode(doc, arrays)
    if not isinstance(city, City):
        raise ValueError(f"{path}: not a city")
    return city
