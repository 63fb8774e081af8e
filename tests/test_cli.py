"""The command line as a user runs it: a run folder, bad input, reproducibility."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.log import RUN_FILES

SHORT = ["run.horizon_s=21600"]


def cityres(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three runs shared by the tests below: two identical, one with another policy."""
    root = tmp_path_factory.mktemp("runs")
    out = {}
    for name, extra in (("a", []), ("b", []), ("mon", ["policy=pressure_monitoring"])):
        d = root / name
        p = cityres("scenario=pipe_burst", "seed=3", *SHORT, *extra, f"hydra.run.dir={d}", cwd=root)
        assert p.returncode == 0, p.stderr[-3000:]
        assert str(d / "report.html") in p.stdout
        out[name] = d
    return out


def test_run_folder_contract(runs: dict[str, Path]) -> None:
    d = runs["a"]
    for name in RUN_FILES:
        assert (d / name).is_file(), name
    assert (d / ".hydra" / "config.yaml").is_file()
    assert list((d / "figures").glob("*.png"))
    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["seed"] == 3
    assert summary["n_incidents"] > 0 and summary["n_events"] > summary["n_incidents"]
    assert not list(d.rglob("*.tmp")), "temporary files left behind"


def test_same_seed_gives_identical_files(runs: dict[str, Path]) -> None:
    for name in ("hazards.csv", "events.csv", "service.csv", "incidents.csv"):
        assert (runs["a"] / name).read_bytes() == (runs["b"] / name).read_bytes(), name


def test_policy_change_keeps_hazards_and_detects_sooner(runs: dict[str, Path]) -> None:
    import pandas as pd

    assert (runs["a"] / "hazards.csv").read_bytes() == (runs["mon"] / "hazards.csv").read_bytes()
    base = pd.read_csv(runs["a"] / "incidents.csv")
    mon = pd.read_csv(runs["mon"] / "incidents.csv")
    bb = base[base.type == "water_main_break"].set_index("source")
    mm = mon[mon.type == "water_main_break"].set_index("source")
    assert len(bb) >= 1 and list(bb.index) == list(mm.index)
    delay_b = bb.t_report_s - bb.t_occur_s
    delay_m = mm.t_report_s - mm.t_occur_s
    # A break the customers had not yet reported by the horizon counts as detected later.
    assert delay_m.notna().all() and (delay_m < delay_b.fillna(float("inf"))).all()
    # Background calls are the same calls at the same times and places.
    cols = ["type", "t_occur_s", "node"]
    assert base[base.source == "background"][cols].equals(mon[mon.source == "background"][cols])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scenario=nope"], "pipe_burst"),
        (["run.horizon_s=-5"], "run.horizon_s"),
        (["city.population=abc"], "city.population"),
        (["city.fire.station_nodes=[0,99999]"], "city.fire.station_nodes[1]"),
        (["scenario.pipe_burst.bursts=[{pipe: P999999, t_s: 10}]"], "scenario.pipe_burst.bursts[0].pipe"),
    ],
)
def test_bad_input_fails_before_running(tmp_path: Path, args: list[str], needle: str) -> None:
    d = tmp_path / "run"
    p = cityres(*args, f"hydra.run.dir={d}", cwd=tmp_path)
    assert p.returncode != 0
    assert needle in p.stderr, p.stderr[-2000:]
    assert not (d / "summary.json").exists() and not (d / "events.csv").exists()


def test_existing_result_is_never_overwritten(runs: dict[str, Path], tmp_path: Path) -> None:
    d = runs["a"]
    before = (d / "events.csv").read_bytes()
    p = cityres("seed=4", *SHORT, f"hydra.run.dir={d}", cwd=tmp_path)
    assert p.returncode != 0 and "already holds a result" in p.stderr
    assert (d / "events.csv").read_bytes() == before


def test_a_multi_select_policy_is_named_after_every_option(tmp_path: Path) -> None:
    p = cityres("scenario=none", "run.horizon_s=600", "run.report=false", "policy=[baseline,pressure_monitoring]",
                f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["policy"] == "baseline+pressure_monitoring"


def test_progress_names_each_stage_once_including_the_dry_twin(tmp_path: Path) -> None:
    """Plain progress lines (not a terminal): each stage once, in order, the dry twin's own when there is one."""
    import io
    import time

    from sim.cli import _Progress

    out = io.StringIO()
    with _Progress(tmp_path, 3600.0, report=False, stream=out, dry_twin=True):
        time.sleep(0.7)
        (tmp_path / "incidents.csv").write_text("x")
        time.sleep(0.7)
        (tmp_path / "dry").mkdir()
        (tmp_path / "dry" / "incidents.csv").write_text("x")
        time.sleep(0.7)
    lines = [line.rsplit(" (", 1)[0] for line in out.getvalue().splitlines()]
    assert lines == ["cityres: simulating 1 h", "cityres: simulating the dry twin (no rain)",
                     "cityres: computing metrics"]


def test_a_sweep_job_with_bad_input_is_recorded_and_fails_the_sweep(tmp_path: Path) -> None:
    """The good jobs run; the bad one says why in its own folder, with no traceback; the exit is non-zero."""
    from analysis.collect import collect

    d = tmp_path / "sweep"
    p = cityres("-m", "seed=-1,0", "scenario=none", "run.horizon_s=600", "run.report=false",
                f"hydra.sweep.dir={d}", cwd=tmp_path)
    assert p.returncode != 0
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert "seed: must be >= 0" in p.stderr and "job 0 failed" in p.stderr
    assert "1 job(s) of the sweep failed" in p.stderr
    bad = json.loads((d / "0" / "summary.json").read_text())
    assert bad["status"] == "failed" and "seed" in bad["error"] and bad["seed"] == -1
    assert json.loads((d / "1" / "summary.json").read_text())["status"] == "ok"
    table = collect([d]).table.set_index("job")
    assert table.loc[0, "status"] == "failed" and "seed: must be >= 0" in table.loc[0, "error"]
    assert table.loc[1, "status"] == "ok"


def test_a_sweep_folder_two_jobs_could_share_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "sweep"
    p = cityres("-m", "seed=0,1", "hydra.sweep.subdir=${scenario.name}", "run.report=false",
                f"hydra.sweep.dir={d}", cwd=tmp_path)
    assert p.returncode == 2 and "hydra.sweep.subdir" in p.stderr
    assert not d.exists()


def test_a_run_folder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "afile"
    f.write_text("keep me")
    p = cityres("scenario=none", "run.report=false", f"hydra.run.dir={f}", cwd=tmp_path)
    assert p.returncode == 2 and "is a file, not a folder" in p.stderr and "Traceback" not in p.stderr
    assert f.read_text() == "keep me"


def test_a_subdir_from_overrides_that_leave_keys_out_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "sweep"
    p = cityres("-m", "seed=0,1", "hydra.sweep.subdir=${hydra.job.override_dirname}",
                "hydra.job.config.override_dirname.exclude_keys=[seed]", "run.report=false",
                f"hydra.sweep.dir={d}", cwd=tmp_path)
    assert p.returncode == 2 and "exclude_keys" in p.stderr and not d.exists()


def test_a_failure_record_never_replaces_a_result(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from sim.cli import _record_failure

    (tmp_path / "summary.json").write_text('{"status": "ok", "seed": 0}')
    _record_failure(tmp_path, OmegaConf.create({"seed": 1}), "configuration error: x")
    assert json.loads((tmp_path / "summary.json").read_text()) == {"status": "ok", "seed": 0}
    _record_failure(tmp_path / "new", OmegaConf.create({"seed": 1}), "configuration error: x")
    assert json.loads((tmp_path / "new" / "summary.json").read_text())["status"] == "failed"


def test_sweep_progress_walks_one_folder_per_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every job of a sweep counts the ended jobs: a walk into each job's city/, figures/ and .hydra/
    (or re-reading every summary each time) would make a sweep's cost grow with the square of its jobs."""
    import os

    from sim import cli

    sweep = tmp_path / "multirun"
    layout = {"0": "ok", "1": "failed", "2": None, "a/3": "ok"}  # job 2 still running; job 3 a nested subdir
    for sub, status in layout.items():
        job = sweep / sub
        for d in ("city", "figures", ".hydra", "dry/city"):
            (job / d).mkdir(parents=True)
        (job / ".hydra" / "summary.json").write_text("{}")  # not a job's summary
        if status is not None:
            (job / "summary.json").write_text(json.dumps({"status": status}))
    visited: list[str] = []
    walk = os.walk

    def counting_walk(top: object) -> object:
        for here, dirs, files in walk(top):  # type: ignore[call-overload]
            visited.append(here)
            yield here, dirs, files

    monkeypatch.setattr(cli.os, "walk", counting_walk)
    assert cli._sweep_progress(sweep) == "3 jobs done, 1 failed"
    # the sweep folder, the four jobs, "a", and the running job's own city/, figures/, dry/, dry/city
    assert len(visited) == 1 + 4 + 1 + 4
    reads: list[Path] = []
    read_text = Path.read_text

    def counting_read(self: Path, *a: object, **k: object) -> str:
        reads.append(self)
        return read_text(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", counting_read)
    (sweep / "2" / "summary.json").write_text(json.dumps({"status": "ok"}))
    assert cli._sweep_progress(sweep) == "4 jobs done, 1 failed"
    assert reads == [sweep / "2" / "summary.json"]  # the summaries read before are final
    # The same folder emptied and swept again by this process (a notebook): nothing stale is counted.
    import shutil

    shutil.rmtree(sweep)
    for sub, status in {"0": "failed", "1": "ok"}.items():
        (sweep / sub).mkdir(parents=True)
        (sweep / sub / "summary.json").write_text(json.dumps({"status": status}))
        os.utime(sweep / sub / "summary.json", ns=(1, 1))  # a different mtime from the first sweep's files
    assert cli._sweep_progress(sweep) == "2 jobs done, 1 failed"


def test_a_run_terminated_by_sigterm_says_so_and_keeps_no_partial_table(tmp_path: Path) -> None:
    """A cluster's time limit sends SIGTERM: the folder says why the run stopped, with no half table."""
    import os
    import signal
    import time

    d = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "scenario=none", "run.horizon_s=31536000",
                             "run.report=false", f"hydra.run.dir={d}"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (d.is_dir() and any(p.name.startswith(".events.csv.") for p in d.iterdir())):
            assert proc.poll() is None and time.monotonic() < deadline, "the run never started its tables"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "cityres: terminated by SIGTERM" in err
    summary = json.loads((d / "summary.json").read_text())
    assert summary["status"] == "failed" and "terminated by SIGTERM" in summary["error"]
    left = sorted(p.name for p in d.iterdir())
    assert "events.csv" not in left and "incidents.csv" not in left, left
    assert not [n for n in left if n.endswith(".tmp")], left
    assert os.stat(d / "summary.json").st_size > 0
