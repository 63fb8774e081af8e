"""The command line: ``cityres`` (same as ``python -m sim``), the one Hydra entry point.

Converts the composed config once (``OmegaConf.to_object``) and hands the
dataclasses to :mod:`sim.runner`. Bad input exits non-zero before the
simulation starts, naming the key, and leaves no run folder behind.

Progress goes to stderr: a single run shows a bar in a terminal and plain
lines otherwise; each job of a sweep says, as it ends, how many of the
sweep's jobs are done and how many failed (the jobs share one folder).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from sim.config import Config, ConfigError, register_configs

__all__ = ["KeepEarlierResults", "main"]

log = logging.getLogger("cityres")


def _discard_if_empty(run_dir: Path) -> None:
    """Remove a run folder that holds nothing but Hydra's own records."""
    if not run_dir.is_dir():
        return
    leftovers = [p for p in run_dir.iterdir() if p.name != ".hydra" and p.suffix != ".log"]
    if not leftovers:
        shutil.rmtree(run_dir, ignore_errors=True)


def _policy_name(choice: object, fallback: str) -> str:
    if isinstance(choice, str):
        return choice.strip("[]").replace(",", "+") or fallback
    if isinstance(choice, (list, tuple)):
        return "+".join(str(c) for c in choice) or fallback
    return fallback


class _Progress:
    """How far a single run got, read from its run folder as it fills.

    The engine writes its tables when the simulation ends, then the report
    its figures and pages, then the summary, each by atomic rename: the files
    present are the stages done. In a terminal a bar on stderr is redrawn a
    few times a second; otherwise one plain line per stage.
    """

    def __init__(self, run_dir: Path, horizon_s: float, report: bool, stream: TextIO = sys.stderr,
                 dry_twin: bool = False) -> None:
        stages = [(f"simulating {horizon_s / 3600:g} h", "incidents.csv")]
        if dry_twin:  # a rain run simulates its day again without the rain (sim.flood_twin)
            stages.append(("simulating the dry twin (no rain)", "dry/incidents.csv"))
        if report:
            stages += [("drawing figures", "figures/response_times.png"), ("rendering figures", "figures/map.png"),
                       ("writing the report", "report.html")]
        stages.append(("computing metrics" if not report else "writing the summary", "summary.json"))
        self.run_dir, self.stages, self.stream = run_dir, stages, stream
        self.tty = stream.isatty()
        self.t0 = time.monotonic()
        self.t_wall = time.time() - 1.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _done(self) -> int:
        n = 0
        for _, name in self.stages:
            f = self.run_dir / name
            if not (f.exists() and f.stat().st_mtime >= self.t_wall):
                break
            n += 1
        return n

    def _show(self, n: int, final: bool = False) -> None:
        total = len(self.stages)
        label = self.stages[min(n, total - 1)][0]
        m, s = divmod(int(time.monotonic() - self.t0), 60)
        if self.tty:
            bar = "#" * round(24 * n / total)
            end = "\n" if final else ""
            self.stream.write(f"\r\x1b[Kcityres [{bar:<24}] {n}/{total} {'done' if final else label}  {m}:{s:02d}{end}")
        elif not final:
            self.stream.write(f"cityres: {label} ({m}:{s:02d})\n")
        self.stream.flush()

    def _watch(self) -> None:
        shown = 0  # __enter__ showed the first stage
        while not self._stop.wait(0.2 if self.tty else 0.5):
            n = self._done()
            if self.tty or n != shown:
                self._show(n)
                shown = n

    def __enter__(self) -> _Progress:
        self._show(0)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        if self.tty:
            self._show(self._done(), final=True)


# What this process has already read of a sweep folder: a job's summary.json is written
# once, when the job ends (file -> (its mtime, status); folder -> (multirun.yaml's mtime, jobs)).
# The mtime catches a folder emptied and swept again by the same process (a notebook).
_seen_status: dict[Path, tuple[int, str | None]] = {}
_seen_jobs: dict[Path, tuple[int, list[list[str]] | None]] = {}


def _mtime_ns(f: Path) -> int:
    try:
        return f.stat().st_mtime_ns
    except OSError:
        return -1


def _job_summaries(sweep_dir: Path) -> list[Path]:
    """The ``summary.json`` of every ended job in the sweep folder.

    A walk that does not go down into a folder once it holds a summary (a
    job's ``city/``, ``figures/`` and ``.hydra/``), so it visits about one
    folder per job, wherever ``hydra.sweep.subdir`` puts them.
    """
    found: list[Path] = []
    for here, dirs, files in os.walk(sweep_dir):
        if "summary.json" in files:
            found.append(Path(here) / "summary.json")
            dirs.clear()
        else:
            dirs[:] = [d for d in dirs if d != ".hydra"]
    return found


def _job_status(f: Path) -> str | None:
    """The status in a job's summary.json (None when unreadable), read again only if the file changed."""
    t = _mtime_ns(f)
    if _seen_status.get(f, (None,))[0] != t:
        try:
            _seen_status[f] = (t, json.loads(f.read_text(encoding="utf-8")).get("status"))
        except (OSError, ValueError):
            return None
    return _seen_status[f][1]


def _sweep_progress(sweep_dir: Path) -> str:
    """"12/60 jobs done, 1 failed": the sweep as this job sees it (the jobs share one folder).

    Each job of a sweep asks once, so the cost per job must not grow with
    the sweep much: the folder walk visits one folder per job, and a summary
    this process has read already is not read again (one stat per summary).
    """
    from analysis.collect import sweep_jobs

    ok = failed = 0
    for f in _job_summaries(sweep_dir):
        status = _job_status(f)
        ok += status == "ok"
        failed += status == "failed"
    t = _mtime_ns(sweep_dir / "multirun.yaml")  # written once, before the first job
    if _seen_jobs.get(sweep_dir, (None,))[0] != t:
        _seen_jobs[sweep_dir] = (t, sweep_jobs(sweep_dir))
    jobs = _seen_jobs[sweep_dir][1]
    total = f"/{len(jobs)}" if jobs is not None else ""
    return f"{ok + failed}{total} jobs done, {failed} failed"


class KeepEarlierResults(Callback):
    """Refuse a run folder (or sweep folder) that already holds a result.

    Hydra writes ``.hydra/`` into the output folder before the task runs, so
    the check has to happen here, at the start of the run or sweep, or an
    earlier result's record of its own config would be overwritten.
    """

    @staticmethod
    def _refuse(key: str, folder: Path, found: Path) -> None:
        print(f"cityres: configuration error: {key}: {folder} already holds a result ({found}); "
              "choose a new folder", file=sys.stderr)
        sys.exit(2)

    @staticmethod
    def _not_a_folder(key: str, folder: Path) -> None:
        if folder.exists() and not folder.is_dir():
            print(f"cityres: configuration error: {key}: {folder} is a file, not a folder", file=sys.stderr)
            sys.exit(2)

    def on_run_start(self, config: DictConfig, **kwargs: object) -> None:
        folder = Path(str(config.hydra.run.dir))
        self._not_a_folder("hydra.run.dir", folder)
        if (folder / "summary.json").exists():
            self._refuse("hydra.run.dir", folder, folder / "summary.json")

    def on_multirun_start(self, config: DictConfig, **kwargs: object) -> None:
        folder = Path(str(config.hydra.sweep.dir))
        self._not_a_folder("hydra.sweep.dir", folder)
        # Each job's folder must be its own: Hydra writes a job's .hydra/ records before the job
        # starts, so two jobs in one folder would leave the first one's result under the second
        # one's config. Only the job's number, id or overrides tell the jobs apart for certain.
        subdir = str(OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir", ""))  # type: ignore[union-attr]
        excluded = OmegaConf.select(config, "hydra.job.config.override_dirname.exclude_keys", default=None)
        unique = [k for k in _JOB_KEYS if not (k == "hydra.job.override_dirname" and excluded)]
        if not any(k in subdir for k in unique):
            print(f"cityres: configuration error: hydra.sweep.subdir: {subdir!r} may give two jobs the same "
                  f"folder; it must use one of {', '.join('${' + k + '}' for k in unique)}"
                  + (" (override_dirname leaves keys out: hydra.job.config.override_dirname.exclude_keys)"
                     if excluded else ""), file=sys.stderr)
            sys.exit(2)
        if folder.is_dir():
            found = next(iter(sorted(folder.rglob("summary.json"))), None)
            if found is not None:
                self._refuse("hydra.sweep.dir", folder, found)

    def on_multirun_end(self, config: DictConfig, **kwargs: object) -> None:
        """A sweep with a failed job exits non-zero (each job's error is in its summary.json)."""
        folder = Path(str(config.hydra.sweep.dir))
        failed = []
        for f in sorted(_job_summaries(folder)) if folder.is_dir() else []:
            if _job_status(f) != "ok":
                failed.append(f.parent)
        if failed:
            print(f"cityres: {len(failed)} job(s) of the sweep failed: "
                  f"{', '.join(str(p) for p in failed)}; `cityres-collect {folder}` lists their errors",
                  file=sys.stderr)
            sys.exit(1)


_JOB_KEYS = ("hydra.job.num", "hydra.job.id", "hydra.job.override_dirname")


def _record_failure(run_dir: Path, dcfg: DictConfig, error: str) -> None:
    """A sweep job that could not start leaves a summary saying why (for cityres-collect)."""
    from sim.output import write_json

    if (run_dir / "summary.json").exists():  # an earlier job's result: never written over
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    facts: dict[str, object] = {"status": "failed", "error": error}
    for key in ("seed", "scenario.name", "policy.name"):
        try:
            facts[key.split(".")[0]] = OmegaConf.select(dcfg, key, throw_on_missing=False)
        except Exception:  # noqa: BLE001 - the config is what failed; keep what can be read
            continue
    write_json(run_dir / "summary.json", facts)


@hydra.main(version_base="1.3", config_path="pkg://conf", config_name="config")
def _main(dcfg: DictConfig) -> None:
    from sim.runner import execute, prepare

    _catch_sigterm()  # a launcher's worker process runs this without main()
    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    try:
        if (run_dir / "summary.json").exists():
            raise ConfigError("hydra.run.dir", f"{run_dir} already holds a result; choose a new folder")
        cfg = OmegaConf.to_object(dcfg)
        assert isinstance(cfg, Config)
        # Hydra does not list a multi-select in runtime.choices: read the override itself.
        chosen = [o.split("=", 1)[1] for o in hc.overrides.task if o.lstrip("+~").startswith("policy=")]
        cfg.policy.name = _policy_name(chosen[-1] if chosen else hc.runtime.choices.get("policy"),
                                       cfg.policy.name)
        prep = prepare(cfg)
    except ConfigError as exc:
        print(f"cityres: configuration error: {exc}", file=sys.stderr)
        if multirun:  # the sweep goes on; the job's folder says why it failed, the sweep exits non-zero
            _record_failure(run_dir, dcfg, f"configuration error: {exc}")
            print(f"cityres: job {hc.job.num} failed; sweep: {_sweep_progress(Path(hc.sweep.dir))}", file=sys.stderr)
            return
        _discard_if_empty(run_dir)
        sys.exit(2)
    except Exception as exc:  # a defect, not an input mistake: say so, and leave no empty folder behind
        if multirun:
            _record_failure(run_dir, dcfg, f"{type(exc).__name__}: {exc}")
        else:
            _discard_if_empty(run_dir)
        raise
    if multirun:
        try:
            summary = execute(prep, run_dir)
        except Exception as exc:  # noqa: BLE001 - recorded in summary.json (with its traceback); the sweep goes on
            print(f"cityres: job {hc.job.num} failed: {type(exc).__name__}: {exc} (traceback in "
                  f"{run_dir / 'summary.json'}); sweep: {_sweep_progress(Path(hc.sweep.dir))}", file=sys.stderr)
            return
        print(f"cityres: job {hc.job.num} ended; sweep: {_sweep_progress(Path(hc.sweep.dir))}", file=sys.stderr)
    else:
        dry = cfg.scenario.waterlogging.dry_twin and any(h.kind == "weather.rain" for h in prep.hazards)
        with _Progress(run_dir, cfg.run.horizon_s, cfg.run.report, dry_twin=dry):
            summary = execute(prep, run_dir)
    m = summary.get("metrics", {})
    print(
        f"cityres: {summary['n_incidents']} incidents, {summary['n_events']} events, "
        f"p90 response {m.get('response_p90_s')} s, {summary['runtime_s']} s wall"
    )
    report = run_dir / "report.html"
    print(report if report.exists() else run_dir)


class Terminated(SystemExit):
    """SIGTERM (a cluster's time limit, ``kill``) while a run is going: the run folder records why it
    stopped (summary.json, status failed) and keeps no partial table; the process exits 143."""

    def __str__(self) -> str:
        return "terminated by SIGTERM (a time limit or a kill) before the run ended"


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated(128 + signum)


def _catch_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated`, unless something else (a launcher) handles it already."""
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread of the process: leave the default
        pass


def main() -> None:
    register_configs()
    _catch_sigterm()
    try:
        _main()
    except Terminated as exc:
        print(f"cityres: {exc}; the run folder's summary.json says so", file=sys.stderr)
        raise


if __name__ == "__main__":
    main()
