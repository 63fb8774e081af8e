"""What the comparison figures need from each replication's tables, gathered per option.

:func:`gather` reads the run folders of a :class:`analysis.compare.Comparison`
once (through :func:`analysis.rundir.load_run`) and keeps, per option: the
water service curve Q(t) on a common grid, the response times of the
emergency incidents reached, and, paired with the baseline run of the same
seed, the change per incident (the same background call under both options)
and per burst (the same hazard) with its place. The arrays are plain data
for :mod:`analysis.compare_figures`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis.metrics import Standards, emergency, response_components
from analysis.resilience import service_curve
from analysis.rundir import Run, load_run, run_horizon

if TYPE_CHECKING:
    from analysis.compare import Comparison

__all__ = ["Replicates", "gather", "outage_hours", "served_on_grid"]


@dataclass
class Replicates:
    """Per-option data of all replications (see the module notes).

    ``served[o]`` has one row per run of option ``o`` and one column per
    ``grid_s`` point; ``served_delta[o]`` one row per pair with the baseline
    (option − baseline, same seed). ``response[o]`` / ``dispatch[o]``: one array per run,
    seconds, emergency incidents reached. ``incidents``: one row per
    background incident reached under both an option and the baseline, with
    ``option``, ``x_m``, ``y_m`` and ``delta_s`` (total response, option −
    baseline). ``bursts``: one row per water-main burst with ``option``,
    ``x_m``, ``y_m`` and ``delta_h`` (outage to repair, option − baseline).
    """

    horizon_s: float
    grid_s: np.ndarray
    standards: Standards
    served: dict[str, np.ndarray] = field(default_factory=dict)
    served_delta: dict[str, np.ndarray] = field(default_factory=dict)
    customers_total: int = 0
    response: dict[str, list[np.ndarray]] = field(default_factory=dict)
    dispatch: dict[str, list[np.ndarray]] = field(default_factory=dict)
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)
    bursts: pd.DataFrame = field(default_factory=pd.DataFrame)
    extent_m: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)


def served_on_grid(run: Run, horizon_s: float, grid_s: np.ndarray, lifeline: str = "water") -> np.ndarray:
    """Q(t) of ``lifeline`` at the grid times (forward fill of ``service.csv``; 1 past its own horizon)."""
    curve = service_curve(run.service, horizon_s, lifeline)
    idx = np.searchsorted(curve.t_s, grid_s, side="right") - 1
    q = curve.served[np.clip(idx, 0, None)]
    return np.where(grid_s < horizon_s, q, q[-1] if q.size else 1.0)


def outage_hours(incidents: pd.DataFrame, horizon_s: float) -> pd.DataFrame:
    """Per water-main break: ``source`` (hazard id), place, and hours from the break to the repair.

    (t_control − t_occur) / 3600, with the horizon for a main still broken at the end.
    """
    w = incidents[incidents["type"] == "water_main_break"]
    end = w["t_control_s"].astype(float).fillna(horizon_s).clip(upper=horizon_s)
    return pd.DataFrame({"source": w["source"].to_numpy(), "x_m": w["x_m"].to_numpy(dtype=float),
                         "y_m": w["y_m"].to_numpy(dtype=float),
                         "hours": ((end - w["t_occur_s"].astype(float)) / 3600.0).to_numpy()})


def _background(incidents: pd.DataFrame) -> pd.DataFrame:
    b = incidents[incidents["source"] == "background"]
    return pd.DataFrame({"incident": b["incident"].to_numpy(), "x_m": b["x_m"].to_numpy(dtype=float),
                         "y_m": b["y_m"].to_numpy(dtype=float),
                         "response_s": (b["t_arrival_s"].astype(float) - b["t_report_s"].astype(float)).to_numpy()})


def gather(cmp: Comparison, step_s: float = 60.0) -> Replicates:
    """Read every compared run once and build the :class:`Replicates` of the comparison."""
    runs = cmp.runs
    loaded: dict[str, Run] = {str(p): load_run(p) for p in runs["run"]}
    first = next(iter(loaded.values()))
    horizons = {p: run_horizon(r) for p, r in loaded.items()}
    horizon = max(horizons.values())
    grid = np.arange(0.0, horizon + step_s / 2, step_s)
    rep = Replicates(horizon, grid, Standards.of(first.summary.get("standards")))
    xs: list[float] = []
    ys: list[float] = []
    per_run: dict[str, dict[str, Any]] = {}
    served: dict[str, list[np.ndarray]] = {}
    for _, row in runs.iterrows():
        path, o = str(row["run"]), str(row["option"])
        run = loaded[path]
        h = horizons[path]
        q = served_on_grid(run, h, grid)
        served.setdefault(o, []).append(q)
        total = run.service.loc[run.service["lifeline"] == "water", "customers_total"]
        rep.customers_total = max(rep.customers_total, int(total.max()) if len(total) else 0)
        comps = emergency(response_components(run.incidents))
        rep.response.setdefault(o, []).append(comps["response"].dropna().to_numpy(dtype=float))
        rep.dispatch.setdefault(o, []).append(comps["dispatch_to_arrival"].dropna().to_numpy(dtype=float))
        xs += list(run.incidents["x_m"].astype(float))
        ys += list(run.incidents["y_m"].astype(float))
        per_run[path] = {"calls": _background(run.incidents), "bursts": outage_hours(run.incidents, h), "served": q}
    rep.served = {o: np.vstack(v) for o, v in served.items()}
    if xs:
        rep.extent_m = (float(np.nanmin(xs)), float(np.nanmax(xs)), float(np.nanmin(ys)), float(np.nanmax(ys)))
    rep.incidents, rep.bursts, rep.served_delta = _paired(cmp, per_run, grid.size)
    return rep


def _paired(
    cmp: Comparison, per_run: dict[str, dict[str, Any]], n_grid: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Per incident, per burst and per service-curve point: option − baseline within each pair."""
    runs = cmp.runs
    keys = cmp.pair_on or []
    calls, bursts = [], []
    served: dict[str, list[np.ndarray]] = {}
    cols_c, cols_b = ["option", "x_m", "y_m", "delta_s"], ["option", "x_m", "y_m", "delta_h"]
    if not keys:
        return pd.DataFrame(columns=cols_c), pd.DataFrame(columns=cols_b), {}
    for _, group in runs.groupby(keys, dropna=False):
        base = group[group["option"] == cmp.baseline]
        if base.empty:
            continue
        b = per_run[str(base.iloc[0]["run"])]
        for _, r in group[group["option"] != cmp.baseline].drop_duplicates("option").iterrows():
            x = per_run[str(r["run"])]
            served.setdefault(str(r["option"]), []).append(x["served"] - b["served"])
            c = b["calls"].merge(x["calls"][["incident", "response_s"]], on="incident", suffixes=("_b", "_x"))
            c = c.dropna(subset=["response_s_b", "response_s_x"])
            calls.append(pd.DataFrame({"option": r["option"], "x_m": c["x_m"], "y_m": c["y_m"],
                                       "delta_s": c["response_s_x"] - c["response_s_b"]}))
            w = b["bursts"].merge(x["bursts"][["source", "hours"]], on="source", suffixes=("_b", "_x"))
            bursts.append(pd.DataFrame({"option": r["option"], "x_m": w["x_m"], "y_m": w["y_m"],
                                        "delta_h": w["hours_x"] - w["hours_b"]}))
    out_c = pd.concat(calls, ignore_index=True) if calls else pd.DataFrame(columns=cols_c)
    out_b = pd.concat(bursts, ignore_index=True) if bursts else pd.DataFrame(columns=cols_b)
    return out_c, out_b, {o: np.vstack(v) if v else np.empty((0, n_grid)) for o, v in served.items()}
