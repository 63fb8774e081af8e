"""The drill playbook names everything the simulator can write into a run folder.

A name missing from ``conf/drill/default.yaml`` does not fail a script: the
raw key is printed instead (``waterlogging应急演练脚本``). These tests list
what the code can produce (scenario and policy options, incident types of
every composed configuration and of the flood process, unit kinds of the
default city and of every run card, event kinds) and check the playbook
covers each, in both languages.
"""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from analysis.drill_playbook import LANGS, fmt_duration
from sim.config import Config
from sim.fire_response import STREET_TEAM
from sim.flood_process import FLOOD_TYPES
from sim.log import EVENT_KINDS
from sim.registry import SCENARIOS
from sim.rng import Streams
from sim.runner import build_city
from tests.test_config import make


def _options(group: str) -> dict[str, str]:
    """Option file stem -> its ``name:`` (what summary.json records) for a config group."""
    out = {}
    for p in resources.files("conf").joinpath(group).iterdir():
        if p.name.endswith(".yaml"):
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            out[p.name[:-5]] = str(data.get("name", p.name[:-5]))
    return out


@pytest.fixture(scope="module")
def configs() -> list[Config]:
    """The default configuration with each scenario, policy and experiment option."""
    overrides = ([[]] + [[f"scenario={o}"] for o in _options("scenario")]
                 + [[f"policy={o}"] for o in _options("policy")]
                 + [[f"experiment={o}"] for o in _options("experiment")])
    return [make(o) for o in overrides]


def _named(playbook: dict, section: str, key: str) -> bool:
    node = playbook[section].get(key)
    return isinstance(node, dict) and all(isinstance(node.get(lang), str) and node[lang].strip() for lang in LANGS)


def test_every_scenario_is_named(playbook: dict) -> None:
    names = set(_options("scenario").values()) | set(_options("scenario")) | set(SCENARIOS)
    missing = sorted(n for n in names if not _named(playbook, "scenarios", n))
    assert not missing, f"conf/drill/default.yaml scenarios: no zh/en name for {missing}"


def test_every_policy_is_named(playbook: dict) -> None:
    names = set(_options("policy").values()) | set(_options("policy"))
    missing = sorted(n for n in names if not _named(playbook, "policies", n))
    assert not missing, f"conf/drill/default.yaml policies: no zh/en name for {missing}"


def test_every_incident_type_is_named(playbook: dict, configs: list[Config]) -> None:
    types = set(FLOOD_TYPES)
    for cfg in configs:
        types |= set(cfg.policy.dispatch.run_cards) | set(cfg.policy.dispatch.severity)
        types |= set(cfg.calls.per_1000_per_day)
    missing = sorted(t for t in types if not _named(playbook, "incident_types", t))
    assert not missing, f"conf/drill/default.yaml incident_types: no zh/en name for {missing}"


def test_every_unit_kind_is_named(playbook: dict, configs: list[Config]) -> None:
    kinds = {STREET_TEAM.split(".")[1]}
    for cfg in configs:
        for card in cfg.policy.dispatch.run_cards.values():
            kinds |= set(card)
        wl = cfg.scenario.waterlogging
        kinds |= set(wl.trapped.run_card) | set(wl.people.run_card)
    city = build_city(Config().city, Streams(0))
    kinds |= {u.kind for u in city.units()}
    missing = sorted(k for k in kinds if not _named(playbook, "unit_kinds", k))
    assert not missing, f"conf/drill/default.yaml unit_kinds: no zh/en name for {missing}"


def test_every_event_kind_is_named(playbook: dict) -> None:
    missing = sorted(k for k in EVENT_KINDS if not _named(playbook, "events", k))
    assert not missing, f"conf/drill/default.yaml events: no zh/en name for {missing}"


def test_targets_keep_their_seconds_below_an_hour() -> None:
    """A target of 610 s must not print as 10 min (a stricter target than the standard's)."""
    assert fmt_duration(610.0, "en") == "10 min" and fmt_duration(610.0, "en", exact=True) == "10 min 10 s"
    assert fmt_duration(610.0, "zh", exact=True) == "10分10秒" and fmt_duration(600.0, "zh", exact=True) == "10分钟"
    assert fmt_duration(80.0, "en", exact=True) == fmt_duration(80.0, "en") == "1 min 20 s"
    assert fmt_duration(3610.0, "en", exact=True) == "1 h"
