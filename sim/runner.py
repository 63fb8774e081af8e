"""One run, from a typed config to a run folder.

:func:`prepare` does everything that can fail on bad input (validation, the
city, station placement, the hazards) before anything is written;
:func:`execute` runs the engine and writes the folder, with ``summary.json``
written in ``finally`` so a failed run says ``status: failed`` and why.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import logging
import platform
import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import scenarios
from scenarios.background import Call, background_calls
from scenarios.base import Hazard, hazard_rows
from sim import engine
from sim.city import City, check_city
from sim.citycache import cached_city, write_city_files
from sim.config import CityConfig, Config, validate
from sim.output import RunSink, write_city, write_json, write_run_tables
from sim.policy import Policy, make_policy
from sim.registry import CITY_KINDS
from sim.rng import Streams

__all__ = ["Prepared", "build_city", "execute", "prepare", "simulate"]

log = logging.getLogger(__name__)


def build_city(cfg: CityConfig, streams: Streams) -> City:
    module, func = CITY_KINDS[cfg.kind].split(":")
    city: City = getattr(importlib.import_module(module), func)(cfg, streams("city"))
    check_city(city)
    return city


@dataclass
class Prepared:
    cfg: Config
    streams: Streams
    city: City
    hazards: list[Hazard]
    calls: list[Call]
    policy: Policy
    cached: Path | None = None  # the city's cache file (sim/citycache.py), if it has one


def lacking_units(cfg: Config, lacking: dict[tuple[str, str], int]) -> list[str]:
    """Warnings for the calls whose run card asked for a unit kind the city has none of.

    A legitimate what-if (``city.fire.ladders_per_station=0``; a loaded city
    without ambulances), so the run goes on: such a call gets the card's other
    units, and its full alarm (every unit of the card on scene) is never
    reached, so it is not measured. Only calls that happened are named, with
    the config key of the card that asked (a policy run card, a flood card or a fire's second alarm).
    """
    wl = cfg.scenario.waterlogging
    cards = {f"policy.dispatch.run_cards.{t}": (t, c) for t, c in cfg.policy.dispatch.run_cards.items()}
    cards["scenario.waterlogging.trapped.run_card"] = ("vehicle_trapped", wl.trapped.run_card)
    cards["scenario.waterlogging.people.run_card"] = ("people_trapped", wl.people.run_card)
    out = []
    for (typ, kind), n in lacking.items():
        # The engine takes the policy's card for the type when it has one, else the incident's own.
        own = f"policy.dispatch.run_cards.{typ}"
        keys = [f"{key}.{kind}" for key, (t, card) in cards.items()
                if t == typ and card.get(kind) and (key == own or own not in cards)]
        if typ == "highrise_fire" and cfg.policy.fire.second_alarm.get(kind):  # its second alarm (fire_response)
            keys.append(f"policy.fire.second_alarm.{kind}")
        where = " or ".join(keys) or f"a {typ} call's card"
        out.append(f"{where}: the city has no {kind} units; {typ} calls asked for one {n} time(s) and got none "
                   "(any other units of the card went; the full alarm is not measured)")
    return out


def _city_seed(cfg: Config) -> int:
    """The seed the city is drawn from: ``city.seed``, or the run's own when it is null."""
    return cfg.seed if cfg.city.seed is None else cfg.city.seed


def prepare(cfg: Config) -> Prepared:
    """Validate and build the pure inputs of a run; raises ConfigError on bad input."""
    validate(cfg)
    streams = Streams(cfg.seed)
    city_seed = _city_seed(cfg)
    city_streams = streams if city_seed == cfg.seed else Streams(city_seed)
    city, cached = cached_city(cfg.city, city_seed, lambda: build_city(cfg.city, city_streams),
                               enabled=cfg.run.city_cache)
    horizon = cfg.run.horizon_s
    start = datetime.fromisoformat(cfg.run.start)
    start_hour = start.hour + start.minute / 60.0 + start.second / 3600.0
    hazards = scenarios.build(cfg.scenario, city, streams("hazards"), horizon, policy=cfg.policy,
                              start_hour=start_hour)
    calls = background_calls(cfg.calls, city, streams("calls"), horizon, start_hour)
    policy = make_policy(cfg.policy, cfg.city, start_hour)
    return Prepared(cfg, streams, city, hazards, calls, policy, cached)


@functools.cache  # asked by every run; a sweep job runs in a process that ran others
def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("cityres", "simpy", "numpy", "scipy", "networkx", "hydra-core", "matplotlib", "pandas"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def execute(prep: Prepared, run_dir: Path) -> dict[str, Any]:
    """Run the engine and write the run folder; returns the summary."""
    cfg = prep.cfg
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary: dict[str, Any] = {
        "status": "running",
        "seed": cfg.seed,
        "city": {"name": prep.city.name, "population": prep.city.population,
                 "seed": _city_seed(cfg), **_jsonable(prep.city.meta)},
        "scenario": cfg.scenario.name,
        "policy": cfg.policy.name,
        "horizon_s": cfg.run.horizon_s,
        "run_start": cfg.run.start,
        "timezone": cfg.run.timezone,
        "standards": dataclasses.asdict(cfg.standards),
        "versions": dict(_versions()),
        "n_hazards": len(prep.hazards),
        "n_background_calls": len(prep.calls),
    }
    sink: RunSink | None = None
    try:
        start = datetime.fromisoformat(cfg.run.start)
        # The event log and finished incidents stream to the folder as the run goes on.
        sink = RunSink(run_dir, prep.city)
        result = engine.run(prep.city, prep.hazards, prep.calls, prep.policy, cfg.run.horizon_s, prep.streams,
                            scenario=cfg.scenario, start_hour=start.hour + start.minute / 60.0, sink=sink)
        summary["sim_runtime_s"] = round(time.perf_counter() - t0, 3)
        summary["n_events"] = result.n_events
        summary["n_incidents"] = result.n_incidents
        warnings = lacking_units(cfg, result.lacking)
        for w in warnings:
            log.warning(w)
        if warnings:
            summary["warnings"] = warnings
        write_run_tables(run_dir, result, prep.city, hazard_rows(prep.hazards))
        write_city_files(run_dir, prep.city, prep.cached, write_city)
        from analysis import headline, load_run

        summary["metrics"] = headline(load_run(run_dir), horizon_s=cfg.run.horizon_s, standards=cfg.standards,
                                      summary=summary)
        if any(h.kind == "weather.rain" for h in prep.hazards):
            from analysis.flood import flood_headline, flood_metrics_flat
            from sim.flood_twin import write_dry_twin

            dry = load_run(write_dry_twin(prep, run_dir)) if cfg.scenario.waterlogging.dry_twin else None
            summary["flood"] = flood_headline(load_run(run_dir), dry)
            summary["metrics"].update(flood_metrics_flat(summary["flood"]))
        if cfg.run.report:
            from analysis.report import write_report

            write_report(run_dir, horizon_s=cfg.run.horizon_s, standards=dataclasses.asdict(cfg.standards),
                         summary=summary)
            if "flood" in summary:
                from analysis.flood_report import add_flood_section

                add_flood_section(run_dir, summary["flood"])
        summary["status"] = "ok"
    except BaseException as exc:
        summary["status"] = "failed"
        summary["error"] = f"{type(exc).__name__}: {exc}"
        summary["traceback"] = traceback.format_exc()
        if sink is not None:
            sink.abort()  # no half-written events.csv or incidents.csv (abort never raises)
        # Every file of the folder is written under a temporary name (.NAME.*.tmp) and renamed when
        # complete; a stop (a SIGTERM) can land between a temporary file's creation and the code that
        # would remove it, so whatever is left goes here. The folder is this run's alone.
        for tmp in run_dir.rglob(".*.tmp"):
            try:
                tmp.unlink()
            except OSError:
                pass
        raise
    finally:
        summary["runtime_s"] = round(time.perf_counter() - t0, 3)
        write_json(run_dir / "summary.json", summary)
    return summary


def simulate(cfg: Config, run_dir: Path) -> dict[str, Any]:
    """prepare + execute: the whole run, for scripts and tests."""
    return execute(prepare(cfg), run_dir)


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


