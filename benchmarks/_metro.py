"""Shared set-up of the benchmarks: the metro config as `cityres city=metro` composes it."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from sim.config import CityConfig, Config

CONF = Path(__file__).resolve().parents[1] / "conf"


def metro_city_config(scale: float = 1.0) -> CityConfig:
    """``conf/city/metro.yaml``; ``scale`` multiplies the area (and the population, zones, stations)."""
    merged = OmegaConf.merge(OmegaConf.structured(CityConfig), OmegaConf.load(CONF / "city" / "metro.yaml"))
    c = OmegaConf.to_object(merged)
    assert isinstance(c, CityConfig)
    if scale != 1.0:
        side = scale ** 0.5
        c.width_km *= side
        c.height_km *= side
        c.population = int(c.population * scale)
        c.n_zones = max(int(round(c.n_zones * scale)), c.n_districts)
        c.n_underpasses = int(round(c.n_underpasses * scale))
        c.elevation.n_basins = int(round(c.elevation.n_basins * scale))
        c.ambulance.n_stations = max(int(round(c.ambulance.n_stations * scale)), 1)
        c.fire.n_candidates = max(int(round(c.fire.n_candidates * scale)), 250)
    return c


def metro_config(scale: float = 1.0, scenario: str = "pipe_burst") -> Config:
    cfg = Config()
    cfg.scenario.name = scenario
    cfg.city = metro_city_config(scale)
    cfg.run.report = False
    cfg.run.city_cache = False  # the benchmarks time the build itself (sim/citycache.py keeps cities for cityres)
    return cfg
