"""Every config option composes against the schema; bad values name their key."""

from __future__ import annotations

from importlib import resources

import pytest
from hydra import compose, initialize_config_module
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from sim.config import Config, ConfigError, register_configs, validate


def options(group: str) -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("conf").joinpath(group).iterdir() if p.name.endswith(".yaml"))


def make(overrides: list[str]) -> Config:
    register_configs()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        dcfg = compose(config_name="config", overrides=overrides)
    cfg = OmegaConf.to_object(dcfg)
    assert isinstance(cfg, Config)
    return cfg


@pytest.mark.parametrize(
    "override",
    [f"city={o}" for o in options("city")]
    + [f"scenario={o}" for o in options("scenario")]
    + [f"policy={o}" for o in options("policy")]
    + [f"experiment={o}" for o in options("experiment")],
)
def test_every_option_composes_and_validates(override: str) -> None:
    cfg = make([override])
    validate(cfg)


def test_policies_combine() -> None:
    cfg = make(["policy=[baseline,pressure_monitoring]"])
    assert cfg.policy.interventions.pressure_monitoring is True
    assert cfg.policy.dispatch.run_cards["fire"] == {"engine": 2, "ladder": 1}
    single = make(["policy=pressure_monitoring"])
    assert single.policy.interventions.pressure_monitoring is True


def test_defaults() -> None:
    cfg = make([])
    assert cfg.city.kind == "district" and cfg.scenario.name == "pipe_burst"
    assert cfg.policy.name == "baseline" and cfg.policy.interventions.pressure_monitoring is False
    assert cfg.run.horizon_s == 86400.0


def test_unknown_option_lists_the_allowed_ones() -> None:
    with pytest.raises(MissingConfigException) as err:
        make(["scenario=nope"])
    assert "pipe_burst" in str(err.value) and "none" in str(err.value)


def test_wrong_type_names_the_key() -> None:
    with pytest.raises((ValidationError, ConfigCompositionException)) as err:
        make(["city.population=abc"])
    text = str(err.value) + str(getattr(err.value, "__cause__", ""))
    assert "city.population" in text or "population" in text


def test_typo_key_is_rejected() -> None:
    with pytest.raises(ConfigCompositionException) as err:
        make(["city.populaton=5"])
    assert "populaton" in str(err.value) + str(err.value.__cause__)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("run.horizon_s=-5", "run.horizon_s"),
        ("calls.per_1000_per_day.medical=-1", "calls.per_1000_per_day.medical"),
        ("policy.repair.valve_fail_prob=1.5", "policy.repair.valve_fail_prob"),
        ("city.population=0", "city.population"),
        ("run.start=yesterday", "run.start"),
        ("policy.dispatch.call_processing.dist=gamma", "policy.dispatch.call_processing.dist"),
    ],
)
def test_bad_values_name_the_key(override: str, key: str) -> None:
    cfg = make([override])
    with pytest.raises(ConfigError) as err:
        validate(cfg)
    assert err.value.key == key


def test_every_unit_a_city_has_is_a_known_kind() -> None:
    """Run cards and rosters are checked against UNIT_KINDS: a city's units must all be in it."""
    import re
    from pathlib import Path

    from sim import flood_process
    from sim.config import UNIT_KINDS
    from sim.rng import Streams
    from sim.runner import build_city

    cfg = make([])
    city = build_city(cfg.city, Streams(cfg.seed))
    kinds = {u.kind for st in city.stations for u in st.units}
    kinds |= set(re.findall(r'kind="([a-z_]+)"', Path(flood_process.__file__).read_text()))
    assert {"engine", "ambulance", "water_crew", "pump_truck"} <= kinds
    assert kinds <= set(UNIT_KINDS), kinds - set(UNIT_KINDS)


def test_timezone_is_checked_only_where_a_zone_database_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    import zoneinfo

    from sim.config import _known_timezone

    assert _known_timezone("Asia/Shanghai") and not _known_timezone("Mars/Olympus")

    def no_database(key: str) -> None:
        raise zoneinfo.ZoneInfoNotFoundError(key)

    monkeypatch.setattr(zoneinfo, "ZoneInfo", no_database)
    assert _known_timezone("Asia/Shanghai")  # a machine without tzdata still runs
