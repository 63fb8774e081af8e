"""The command line: ``cityres`` (same as ``python -m sim``), the one Hydra entry point.

Converts the composed config once (``OmegaConf.to_object``) and hands the
dataclasses to :mod:`sim.runner`. Bad input exits non-zero before the
simulation starts, naming the key, and leaves no run folder behind.
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

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

    def on_run_start(self, config: DictConfig, **kwargs: object) -> None:
        folder = Path(str(config.hydra.run.dir))
        if (folder / "summary.json").exists():
            self._refuse("hydra.run.dir", folder, folder / "summary.json")

    def on_multirun_start(self, config: DictConfig, **kwargs: object) -> None:
        folder = Path(str(config.hydra.sweep.dir))
        if folder.is_dir():
            found = next(iter(sorted(folder.rglob("summary.json"))), None)
            if found is not None:
                self._refuse("hydra.sweep.dir", folder, found)


@hydra.main(version_base="1.3", config_path="pkg://conf", config_name="config")
def _main(dcfg: DictConfig) -> None:
    from sim.runner import execute, prepare

    hc = HydraConfig.get()
    run_dir = Path(hc.runtime.output_dir)
    multirun = hc.mode == RunMode.MULTIRUN
    try:
        if (run_dir / "summary.json").exists():
            raise ConfigError("hydra.run.dir", f"{run_dir} already holds a result; choose a new folder")
        cfg = OmegaConf.to_object(dcfg)
        assert isinstance(cfg, Config)
        cfg.policy.name = _policy_name(hc.runtime.choices.get("policy"), cfg.policy.name)
        prep = prepare(cfg)
    except ConfigError as exc:
        _discard_if_empty(run_dir)
        print(f"cityres: configuration error: {exc}", file=sys.stderr)
        if multirun:
            raise
        sys.exit(2)
    summary = execute(prep, run_dir)
    m = summary.get("metrics", {})
    print(
        f"cityres: {summary['n_incidents']} incidents, {summary['n_events']} events, "
        f"p90 response {m.get('response_p90_s')} s, {summary['runtime_s']} s wall"
    )
    report = run_dir / "report.html"
    print(report if report.exists() else run_dir)


def main() -> None:
    register_configs()
    _main()


if __name__ == "__main__":
    main()
