"""What a run imports: scipy.stats would add about 0.25 s to every run's ~3 s of imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_does_not_import_scipy_stats() -> None:
    code = ("import importlib, pkgutil, sys, sim.cli, sim.runner, sim.engine, analysis, analysis.report, scenarios\n"
            "for m in pkgutil.iter_modules(scenarios.__path__):\n"
            "    importlib.import_module('scenarios.' + m.name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))")
    # This tree's packages, not an installed copy: run from the root with it first on the path.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=env).stdout
    assert out.strip() == "[]"


def test_the_flood_and_the_statistics_still_reach_it() -> None:
    from analysis.inference import mean_interval
    from sim.flood_process import _poisson_ppf

    assert _poisson_ppf(0.5, 3.0) == 3.0  # the median of Poisson(3)
    iv = mean_interval([1.0, 2.0, 3.0])
    assert iv.low < 2.0 < iv.high
