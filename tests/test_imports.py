"""What a run imports: scipy.stats would add about 0.25 s to every run's ~3 s of imports."""

from __future__ import annotations

import subprocess
import sys


def test_a_run_does_not_import_scipy_stats() -> None:
    code = ("import sys, sim.cli, sim.runner, sim.engine, analysis, analysis.report; "
            "print(sorted(m for m in sys.modules if m.startswith('scipy.stats')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_flood_and_the_statistics_still_reach_it() -> None:
    from analysis.inference import mean_interval
    from sim.flood_process import _poisson_ppf

    assert _poisson_ppf(0.5, 3.0) == 3.0  # the median of Poisson(3)
    iv = mean_interval([1.0, 2.0, 3.0])
    assert iv.low < 2.0 < iv.high
