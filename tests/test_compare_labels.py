"""Every headline metric a run writes has a readable name and unit in the comparison report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from analysis.collect import collect
from analysis.compare import standards_fractile
from analysis.metric_labels import METRIC_LABELS, metric_label
from sim.config import Config, register_configs
from sim.runner import simulate

# Between them these runs write every family of metrics: incidents, response segments, standards,
# the water, power, gas and cascade service curves, fires (rate x1000 so that fires happen in two
# hours) and the flood numbers with the dry twin's response inflation.
RUNS: dict[str, list[str]] = {
    "compound": ["scenario=compound", "scenario.ebike_fire.rate_multiplier=1000", "run.horizon_s=7200"],
    "waterlogging": ["scenario=waterlogging", "scenario.waterlogging.storm.start_s=1800", "run.horizon_s=21600"],
}


def config(overrides: list[str]) -> Config:
    register_configs()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        cfg = OmegaConf.to_object(compose(config_name="config", overrides=[*overrides, "run.report=false"]))
    assert isinstance(cfg, Config)
    return cfg


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("labels")
    for name, overrides in RUNS.items():
        summary = simulate(config(overrides), Path(root / name))
        assert summary["status"] == "ok", summary.get("error")
    return root


@pytest.fixture(scope="module")
def produced(root: Path) -> set[str]:
    keys: set[str] = set()
    for name in RUNS:
        keys |= set(json.loads((root / name / "summary.json").read_text())["metrics"])
    return keys


def test_the_runs_write_every_family_of_metrics(produced: set[str]) -> None:
    for prefix in ("n_", "response_", "gb51080_", "nfpa_", "water_", "water_cascade_", "power_", "gas_", "fire_",
                   "flood_", "flood_coverage_", "flood_response_inflation_flood_"):
        assert any(k.startswith(prefix) for k in produced), prefix


def test_every_metric_a_run_writes_has_an_explicit_label(produced: set[str]) -> None:
    missing = sorted(produced - set(METRIC_LABELS))
    assert not missing, f"add these to analysis/metric_labels.py: {missing}"


def test_every_metric_a_collection_offers_to_compare_has_a_label(root: Path) -> None:
    metrics = collect([root]).metrics
    assert "metric_n_incidents" in metrics  # renamed beside the run column n_incidents
    assert not [m for m in metrics if metric_label(m) == (m, "")]
    assert metric_label("metric_n_incidents") == METRIC_LABELS["n_incidents"]


def test_units_are_the_metrics_own_not_guessed_from_the_suffix() -> None:
    assert metric_label("flood_flooded_road_km_h") == ("Flooded road length × time (depth > 10 cm)", "road-km·h")
    assert metric_label("flood_clear_after_rain_max_s") == ("Longest time to clear a flood point after the rain",
                                                            "s")
    assert metric_label("fire_first_water_mean_s") == ("Mean ignition to first water", "s")
    assert metric_label("fire_casualties_total") == ("Expected fire casualties", "people")
    assert metric_label("water_resilience_loss_pct")[1] == "%"
    assert metric_label("water_customer_hours_lost") == ("Water customer-hours lost", "customer-h")
    assert metric_label("power_customers_total") == ("Power customers connected", "customers")
    assert metric_label("flood_coverage_peak_within_300s") == (
        "Share of population within a 5-min drive of a fire station, roads at the flood peak", "share")
    # An unlisted key is shown as itself, without a unit it cannot know.
    assert metric_label("something_new_h") == ("something_new_h", "")


def test_labels_tell_metrics_apart() -> None:
    shown: dict[tuple[str, str], str] = {}
    for key, label in METRIC_LABELS.items():
        assert label[0] and label[0] != key, key
        assert label not in shown, f"{key} and {shown.get(label)} are both shown as {label}"
        shown[label] = key


def test_a_share_is_printed_as_the_bare_fraction_its_unit_says() -> None:
    from analysis.compare_report import _num

    assert _num(0.9861, 3, metric_label("flood_coverage_dry_within_300s")[1]) == "0.986"


def test_the_value_at_the_fractile_is_named_by_the_runs_standards(root: Path, tmp_path: Path) -> None:
    key = "gb51080_fractile_s"
    assert metric_label(key)[0] == "GB 51080 dispatch to arrival ≤ 5 min (fire, rescue): value at the standards' " \
                                   "fractile of the measure"
    assert metric_label(key, 0.9)[0].endswith(": p90 of the measure")
    assert metric_label(f"metric_{key}", 0.95)[0].endswith(": p95 of the measure")
    assert metric_label("response_p90_s", 0.95) == metric_label("response_p90_s")  # a fixed p90, whatever the standards
    assert standards_fractile(collect([root]).ok) == 0.9
    runs = []
    for name, fractile in (("a", 0.9), ("b", 0.95)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"standards": {"fractile": fractile}}))
        runs.append(str(tmp_path / name))
    assert standards_fractile(pd.DataFrame({"run": runs[1:]})) == 0.95
    assert standards_fractile(pd.DataFrame({"run": runs})) is None  # mixed: not one fractile to name
    assert standards_fractile(pd.DataFrame({"run": [*runs[1:], str(tmp_path / "none")]})) is None
