"""Sweeps as a user runs them: Hydra's launchers, progress, and the collected table of the jobs."""

from __future__ import annotations

import importlib.util
import json
import os
import pty
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize_config_module

from analysis.collect import collect, sweep_jobs
from analysis.collect import main as collect_main
from analysis.compare import main as compare_main
from sim.config import register_configs

SWEEP = ["-m", "policy=baseline,pressure_monitoring", "seed=0,1", "run.horizon_s=10800", "run.report=false"]


def cityres(*args: str, cwd: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, **kw)  # type: ignore[call-overload]


def need(plugin: str, extra: str) -> None:
    if importlib.util.find_spec(f"hydra_plugins.{plugin}") is None:
        pytest.skip(f"{plugin} is not installed (pip install -e '.[{extra}]')")


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    need("hydra_joblib_launcher", "dev")
    root = tmp_path_factory.mktemp("joblib")
    d = root / "multirun"
    p = cityres(*SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={d}", cwd=root)
    assert p.returncode == 0, p.stderr[-3000:]
    return d, p


def check_sweep(d: Path) -> None:
    jobs = sweep_jobs(d)
    assert jobs is not None and len(jobs) == 4
    for i, overrides in enumerate(jobs):
        summary = json.loads((d / str(i) / "summary.json").read_text())
        assert summary["status"] == "ok"
        assert yaml.safe_load((d / str(i) / ".hydra" / "overrides.yaml").read_text()) == overrides
    coll = collect([d])
    t = coll.table
    assert list(t["status"]) == ["ok"] * 4 and coll.varying() == ["policy", "seed"]
    # Common random numbers: the policies of one seed saw the same hazards and calls.
    for col in ("hazards_digest", "calls_digest"):
        assert (t.groupby("seed")[col].nunique() == 1).all() and t[col].nunique() == 2


def test_joblib_sweep_runs_every_job_and_reports_progress(
    joblib_sweep: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    d, p = joblib_sweep
    check_sweep(d)
    assert "Joblib.Parallel(n_jobs=2" in p.stderr + p.stdout
    assert "4/4 jobs done, 0 failed" in p.stderr


def test_the_sweep_collects_and_compares(joblib_sweep: tuple[Path, subprocess.CompletedProcess[str]],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    d, _ = joblib_sweep
    assert collect_main([str(d)]) == 0
    assert "4 runs: 4 ok, 0 failed, 0 missing" in capsys.readouterr().out
    assert (d / "runs.csv").is_file()
    assert compare_main([str(d), "--baseline", "policy=baseline", "--metric", "response_p90_s"]) == 0
    out = capsys.readouterr().out
    assert "pressure_monitoring" in out and "2 paired seeds" in out and (d / "compare" / "compare.html").is_file()


def test_a_single_run_reports_progress_in_plain_lines(tmp_path: Path) -> None:
    p = cityres("run.horizon_s=7200", "run.report=false", f"hydra.run.dir={tmp_path / 'one'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    assert "cityres: simulating 2 h" in p.stderr and "\r" not in p.stderr
    assert str(tmp_path / "one") in p.stdout


def test_a_single_run_draws_a_bar_in_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "sim", "run.horizon_s=7200", "run.report=false",
                               f"hydra.run.dir={tmp_path / 'one'}"], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=follower, timeout=300)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert "\r" in screen and "cityres [" in screen and "2/2 done" in screen


@pytest.mark.parametrize(("preset", "plugin", "key", "value"), [
    ("slurm", "hydra_submitit_launcher", "cpus_per_task", 1),
    ("ray_cluster", "hydra_ray_launcher", "ray.init.address", "auto"),
])
def test_cluster_presets_compose(preset: str, plugin: str, key: str, value: object) -> None:
    need(plugin, "cluster")
    register_configs()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        cfg = compose(config_name="config", overrides=[f"hydra/launcher={preset}"], return_hydra_config=True)
    node = cfg.hydra.launcher
    for part in key.split("."):
        node = node[part]
    assert node == value


@pytest.mark.slow
def test_submitit_local_sweep_gives_the_same_runs(
    joblib_sweep: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    need("hydra_submitit_launcher", "cluster")
    d = tmp_path / "multirun"
    p = cityres(*SWEEP, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10",
                f"hydra.sweep.dir={d}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    check_sweep(d)
    for i in range(4):
        for name in ("hazards.csv", "events.csv", "incidents.csv", "service.csv"):
            assert (d / str(i) / name).read_bytes() == (joblib_sweep[0] / str(i) / name).read_bytes()


def experiments() -> list[str]:
    folder = resources.files("conf").joinpath("experiment")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("name", experiments())
def test_every_experiment_runs_briefly(name: str, tmp_path: Path) -> None:
    d = tmp_path / "multirun"
    p = cityres("-m", f"experiment={name}", "seed=0", "run.horizon_s=7200", "scenario.waterlogging.storm.start_s=600", f"hydra.sweep.dir={d}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    coll = collect([d])
    assert len(coll.table) >= 2 and set(coll.table["status"]) == {"ok"}
    assert coll.varying(exclude=["seed"]), "an experiment compares at least two options"
