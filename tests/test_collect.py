"""Collecting run folders into one tidy table: axes, metrics, failed and missing runs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.collect import collect, find_runs, has_parquet, main, parse_overrides, sweep_jobs


def fake_run(d: Path, overrides: list[str], summary: dict | None, hazards: str = "H1") -> Path:
    """A run folder with Hydra's records and, unless ``summary`` is None, a summary and the two input tables."""
    (d / ".hydra").mkdir(parents=True)
    (d / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (d / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"seed": 0, "city": {"ambulance": {"n": 25}}}))
    if summary is not None:
        (d / "summary.json").write_text(json.dumps(summary))
        (d / "hazards.csv").write_text(f"hazard,t_s,kind,scope,params\n{hazards},10,water.pipe_burst,water.pipe.P1,{{}}\n")
        (d / "incidents.csv").write_text("incident,type,source,t_occur_s,node\n1,medical,background,5.5,7\n")
    return d


def ok(seed: int, policy: str, p90: float) -> dict:
    return {"status": "ok", "seed": seed, "scenario": "pipe_burst", "policy": policy, "runtime_s": 1.0,
            "n_incidents": 3, "n_events": 9, "metrics": {"response_p90_s": p90, "gb51080_pass": True,
                                                           "water_time_to_recover_s": None}}


def multirun_yaml(d: Path, task: list[str], params: dict | None = None) -> None:
    conf = {"hydra": {"sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
                                  "max_batch_size": None, "params": params},
                      "overrides": {"hydra": [], "task": task},
                      "sweep": {"dir": str(d), "subdir": "${hydra.job.num}"}}}
    d.mkdir(parents=True, exist_ok=True)
    (d / "multirun.yaml").write_text(yaml.safe_dump(conf, sort_keys=False))


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """policy x seed = 4 jobs: two ok, one failed, one started without a summary; no folder for none."""
    root = tmp_path / "multirun" / "2026-07-15_06-00-00"
    multirun_yaml(root, ["policy=baseline,pressure_monitoring", "run.horizon_s=3600"], {"seed": "range(3)"})
    fake_run(root / "0", ["seed=0", "policy=baseline", "run.horizon_s=3600"], ok(0, "baseline", 300.0))
    fake_run(root / "1", ["seed=0", "policy=pressure_monitoring", "run.horizon_s=3600"],
             ok(0, "pressure_monitoring", 290.0))
    failed = ok(1, "baseline", 0.0) | {"status": "failed", "error": "RuntimeError: boom"}
    del failed["metrics"]
    fake_run(root / "2", ["seed=1", "policy=baseline", "run.horizon_s=3600"], failed)
    fake_run(root / "3", ["seed=1", "policy=pressure_monitoring", "run.horizon_s=3600"], None)
    return root


def test_sweep_jobs_expand_like_the_basic_sweeper(sweep: Path) -> None:
    jobs = sweep_jobs(sweep)
    assert jobs is not None and len(jobs) == 6
    # Sweeper params first, then the command line; the last key varies fastest.
    assert jobs[0] == ["seed=0", "policy=baseline", "run.horizon_s=3600"]
    assert jobs[1] == ["seed=0", "policy=pressure_monitoring", "run.horizon_s=3600"]
    assert jobs[5] == ["seed=2", "policy=pressure_monitoring", "run.horizon_s=3600"]


def test_a_command_line_key_replaces_the_sweeper_param(tmp_path: Path) -> None:
    multirun_yaml(tmp_path, ["seed=range(2)"], {"seed": "range(30)", "policy": "baseline,pressure_monitoring"})
    jobs = sweep_jobs(tmp_path)
    assert jobs is not None and len(jobs) == 4
    assert jobs[0] == ["seed=0", "policy=baseline"]


def test_overrides_are_parsed_by_hydra() -> None:
    assert parse_overrides(["+x.y=3", "policy=[baseline,pressure_monitoring]", "~z"]) == {
        "x.y": "3", "policy": "[baseline,pressure_monitoring]", "z": ""}


def test_collect_lists_failed_and_missing_runs(sweep: Path) -> None:
    coll = collect([sweep])
    t = coll.table
    assert list(t["job"]) == [0, 1, 2, 3, 4, 5]
    assert list(t["status"]) == ["ok", "ok", "failed", "missing", "missing", "missing"]
    assert "RuntimeError: boom" in t.loc[2, "error"]
    assert "no summary.json" in t.loc[3, "error"] and "never started" in t.loc[4, "error"]
    assert t.loc[5, "run"] == str(sweep / "5") and t.loc[5, "seed"] == 2
    assert coll.axes[:3] == ["seed", "policy", "run.horizon_s"] and "scenario" in coll.axes
    assert t["seed"].dtype == "int64" and t["response_p90_s"].dtype == "float64"
    assert t.loc[0, "response_p90_s"] == 300.0 and pd.isna(t.loc[2, "response_p90_s"])
    assert str(t["gb51080_pass"].dtype) == "boolean"
    assert t.loc[0, "hazards_digest"] == t.loc[1, "hazards_digest"] != ""
    assert coll.varying(exclude=["seed"]) == ["policy"]


def test_a_run_that_did_not_override_an_axis_gets_the_config_value(tmp_path: Path) -> None:
    fake_run(tmp_path / "a", ["seed=0"], ok(0, "baseline", 300.0))
    fake_run(tmp_path / "b", ["seed=0", "city.ambulance.n=13"], ok(0, "baseline", 330.0))
    t = collect([tmp_path]).table
    assert list(t["city.ambulance.n"]) == [25, 13]


def test_find_runs_in_natural_order_and_not_inside_runs(tmp_path: Path) -> None:
    for i in (10, 2, 1):
        fake_run(tmp_path / str(i), [f"seed={i}"], ok(i, "baseline", 1.0))
    (tmp_path / "2" / "figures").mkdir()
    assert [p.name for p in find_runs(tmp_path)] == ["1", "2", "10"]
    assert find_runs(tmp_path / "2") == [tmp_path / "2"]


def test_cli_writes_csv_and_reports_problems(sweep: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = sweep / "table" / "runs.csv"
    assert main([str(sweep), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "6 runs: 2 ok, 1 failed, 3 missing" in captured.out
    assert "failed  job 2" in captured.err and "RuntimeError: boom" in captured.err
    back = pd.read_csv(out)
    assert len(back) == 6 and set(back["status"]) == {"ok", "failed", "missing"}
    assert (out.with_suffix(".parquet").is_file()) == has_parquet()
    if has_parquet():
        assert pd.read_parquet(out.with_suffix(".parquet"))["seed"].tolist() == [0, 0, 1, 1, 2, 2]
    assert not list(out.parent.glob("*.tmp")) and not list(out.parent.glob(".*"))


def test_cli_without_runs_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path)]) == 1
    assert "no run folders" in capsys.readouterr().err
    assert main([str(tmp_path / "nope")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert not (tmp_path / "nope").exists()  # no table written into a folder made up for a typo


def test_recomputing_a_storm_run_gives_its_flood_metrics_too(tmp_path: Path) -> None:
    from analysis.collect import collect
    from sim.config import Config
    from sim.runner import simulate

    cfg = Config()
    cfg.scenario.name = "waterlogging"
    cfg.run.report = False
    assert simulate(cfg, tmp_path / "wl")["status"] == "ok"
    read, again = collect([tmp_path / "wl"]).table, collect([tmp_path / "wl"], recompute=True).table
    flood = [c for c in read.columns if c.startswith("flood_")]
    assert len(flood) > 20 and "flood_response_inflation_flood_mean_s" in flood
    assert set(flood) <= set(again.columns)
    pd.testing.assert_frame_equal(read[flood], again[flood], check_dtype=False)


def test_city_seed_is_the_seed_the_city_was_drawn_from(tmp_path: Path) -> None:
    """``city.seed=null`` on seed 3 and ``city.seed=3`` are one city: the column says 3 for both."""
    for name, overrides, city_seed in (("a", ["seed=3", "city.seed=null"], 3), ("b", ["seed=3", "city.seed=3"], 3),
                                       ("c", ["seed=3", "city.seed=0"], 0), ("d", ["seed=3"], 3)):
        fake_run(tmp_path / name, overrides, ok(3, "baseline", 300.0) | {"city": {"name": "x", "seed": city_seed}})
    t = collect([tmp_path]).table.set_index("run")
    assert {Path(r).name: v for r, v in t["city.seed"].items()} == {"a": 3, "b": 3, "c": 0, "d": 3}
