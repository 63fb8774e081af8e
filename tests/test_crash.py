"""Crash safety: a killed run and a failing sweep job leave every other result whole."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from analysis.collect import collect


def digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cityres(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_a_killed_run_leaves_earlier_runs_intact_and_itself_unfinished(tmp_path: Path) -> None:
    out = tmp_path / "outputs"
    done = cityres("seed=1", "run.horizon_s=7200", "run.report=false", f"hydra.run.dir={out / 'earlier'}",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    before = digest(out / "earlier")
    # A month of simulated time takes long enough to be killed mid-way.
    proc = subprocess.Popen([sys.executable, "-m", "sim", "seed=2", "run.horizon_s=2592000",
                             f"hydra.run.dir={out / 'killed'}"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (out / "killed" / ".hydra" / "config.yaml").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.1)
    time.sleep(1.0)
    assert proc.poll() is None, "the run finished before it could be killed; lengthen the horizon"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert digest(out / "earlier") == before
    # Not finished: summary.json is written last, so the killed folder has none,
    # and the collection lists it as missing rather than as a result.
    assert not (out / "killed" / "summary.json").exists()
    table = collect([out]).table.set_index("run")
    assert table.loc[str(out / "earlier"), "status"] == "ok"
    assert table.loc[str(out / "killed"), "status"] == "missing"
    assert "killed" in table.loc[str(out / "killed"), "error"]


def test_a_failing_sweep_job_keeps_the_others_and_the_collection_lists_it(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    # The second job places a fire station on a node the district does not have.
    p = cityres("-m", "run.horizon_s=7200", "run.report=false", "city.fire.station_nodes=[5],[999999]",
                f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert p.returncode != 0
    assert "city.fire.station_nodes[0]: node 999999 does not exist" in p.stderr
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    assert json.loads((sweep / "0" / "summary.json").read_text())["status"] == "ok"
    assert json.loads((sweep / "1" / "summary.json").read_text())["status"] == "failed"
    assert not (sweep / "1" / "events.csv").exists()
    table = collect([sweep]).table.set_index("job")
    assert list(table["status"]) == ["ok", "failed"]
    assert "node 999999 does not exist" in table.loc[1, "error"]
