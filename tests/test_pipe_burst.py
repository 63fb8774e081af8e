"""Break rates of water mains: the cited network rate per material, spread over the pipes by age."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.pipe_burst import break_rates
from sim.rng import Streams
from sim.runner import build_city
from tests.test_config import make

YEAR_S = 365.25 * 86400.0


def test_each_material_breaks_at_its_cited_network_rate_and_old_mains_more_often() -> None:
    cfg = make(["scenario=pipe_burst"])
    city = build_city(cfg.city, Streams(cfg.seed))
    w = city.water
    per_km_yr = break_rates(city, cfg.scenario) * YEAR_S / (np.asarray(w.length_m) / 100_000.0)
    material = np.asarray(w.material)
    age = cfg.scenario.pipe_burst.reference_year - np.asarray(w.install_year)
    checked = 0
    for mat, cited in cfg.scenario.pipe_burst.rate_per_100km_yr.items():
        on = material == mat
        if on.sum() < 20:
            continue
        network = np.average(per_km_yr[on], weights=np.asarray(w.length_m)[on])
        assert network == pytest.approx(cited, rel=1e-9), mat
        old, new = on & (age >= np.median(age[on])), on & (age < np.median(age[on]))
        if old.any() and new.any():
            assert per_km_yr[old].mean() > per_km_yr[new].mean(), mat
        checked += 1
    assert checked >= 3


def test_the_stress_multiplier_scales_every_rate() -> None:
    cfg = make(["scenario=pipe_burst"])
    city = build_city(cfg.city, Streams(cfg.seed))
    base = break_rates(city, cfg.scenario)
    cfg.scenario.pipe_burst.rate_multiplier = 3.0
    assert np.allclose(break_rates(city, cfg.scenario), 3.0 * base)
