"""The dry twin of a waterlogging run: the same city, calls and policy without the rain.

Response-time inflation needs the same background calls answered dry and wet
(common random numbers: same seed, same named streams). After the wet run the
runner calls :func:`write_dry_twin`, which runs the engine again with no
hazards and writes its tables under ``dry/`` inside the run folder, so the
analysis can pair them (:func:`analysis.flood.response_inflation`). It costs
one more engine run; ``scenario.waterlogging.dry_twin=false`` turns it off,
and two ordinary runs (``scenario=waterlogging`` and ``scenario=none`` with
the same seed and horizon) give the same pairing by hand.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sim import engine
from sim.output import RunSink, write_run_tables
from sim.rng import Streams

__all__ = ["write_dry_twin"]


def write_dry_twin(prep: object, run_dir: Path) -> Path:
    """Run ``prep`` (a :class:`sim.runner.Prepared`) without hazards; write ``run_dir/dry/``."""
    from sim.runner import Prepared

    assert isinstance(prep, Prepared)
    cfg = prep.cfg
    start = datetime.fromisoformat(cfg.run.start)
    out = Path(run_dir) / "dry"
    sink = RunSink(out, prep.city)
    try:
        log = engine.run(prep.city, [], prep.calls, prep.policy, cfg.run.horizon_s, Streams(cfg.seed),
                         scenario=cfg.scenario, start_hour=start.hour + start.minute / 60.0, sink=sink)
        write_run_tables(out, log, prep.city, [])
    except BaseException:
        sink.abort()
        raise
    return out
