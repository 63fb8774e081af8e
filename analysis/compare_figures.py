"""Comparison figures: effects, option means, service bands, response CDFs and a map of differences.

Each function returns a :class:`matplotlib.figure.Figure` built from a
:class:`analysis.compare.Comparison` and, for the figures that need the
runs' tables, the :class:`analysis.replicates.Replicates` gathered from them.
Nothing here reads or writes files; :mod:`analysis.compare_report` renders
and writes. Intervals are the comparison's level (95 % by default); bands
across replications are pointwise t intervals of the mean.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter
from scipy import stats

from analysis.figures import fmt_duration, new_figure

if TYPE_CHECKING:
    from analysis.compare import Comparison
    from analysis.replicates import Replicates

__all__ = [
    "difference_map_caption",
    "difference_map_figure",
    "effects_figure",
    "map_panels",
    "means_figure",
    "option_colours",
    "response_cdf_figure",
    "service_band_figure",
]

_BASE = "#4d4d4d"
_PALETTE = ("#1f78b4", "#d95f02", "#7570b3", "#1b9e77", "#e7298a", "#a6761d", "#66a61e", "#e6ab02")
_UNPAIRED = "#b0b0b0"
_GB = "#b2182b"
_MAX_MAP_OPTIONS = 4


def option_colours(cmp: Comparison) -> dict[str, str]:
    """Grey for the baseline, a distinct colour for each other option (same in every figure)."""
    out = {cmp.baseline: _BASE}
    for i, o in enumerate(cmp.others):
        out[o] = _PALETTE[i % len(_PALETTE)]
    return out


def _names(cmp: Comparison) -> tuple[dict[str, str], str]:
    """Short option names for ticks, and the axis they vary ("people_per_ambulance") when it is one."""
    heads = {o.partition("=")[0] for o in cmp.options}
    if len(cmp.by) == 1 and len(heads) == 1 and all("=" in o and "," not in o for o in cmp.options):
        return {o: o.partition("=")[2] for o in cmp.options}, heads.pop()
    return {o: o for o in cmp.options}, ""


def _axis_title(cmp: Comparison, metric: str) -> str:
    label, unit = cmp.label(metric)
    return f"{label} ({unit})" if unit else label


def _short(label: str, width: int = 26) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _thousands(ax: Axes, axis: str = "x") -> None:
    """Group digits on an axis whose ticks run into the tens of thousands."""
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    if max(abs(lo), abs(hi)) >= 10_000:
        (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _band(rows: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise mean and t interval of the mean over the rows (NaN-free; one row gives no band)."""
    n = rows.shape[0]
    mean = rows.mean(axis=0)
    if n < 2:
        return mean, mean, mean
    h = float(stats.t.ppf(0.5 + level / 2, n - 1)) * rows.std(axis=0, ddof=1) / math.sqrt(n)
    return mean, mean - h, mean + h


# ------------------------------------------------------------------ effects
def effects_figure(cmp: Comparison) -> Figure:
    """Forest plot: per metric, each option's mean difference from the baseline.

    Thick bar: the paired interval (common random numbers, matched by seed);
    thin grey bar: the unpaired (Welch) interval on the same runs.
    """
    colours = option_colours(cmp)
    names, axis = _names(cmp)
    others = cmp.others
    k = len(cmp.results)
    rows = len(others)
    with new_figure(10.5, 0.9 + k * (0.75 + 0.42 * rows)) as fig:
        axes = np.atleast_1d(fig.subplots(k, 1, squeeze=False)[:, 0])
        for ax, res in zip(axes, cmp.results, strict=True):
            for i, o in enumerate(others):
                d = res.differences[o]
                y = rows - 1 - i
                u = d.unpaired
                if math.isfinite(u.low):
                    ax.plot([u.low, u.high], [y - 0.18] * 2, color=_UNPAIRED, lw=2.2, solid_capstyle="butt",
                            label="unpaired (Welch)" if i == 0 else None)
                p = d.paired
                if math.isfinite(p.low):
                    ax.plot([p.low, p.high], [y] * 2, color=colours[o], lw=6, solid_capstyle="butt", alpha=0.85,
                            label=f"paired ({cmp.method})" if i == 0 else None)
                ax.plot([p.estimate], [y], "o", color="white", mec=colours[o], mew=2, ms=7, zorder=5)
            ax.axvline(0, color="#222222", lw=1)
            ax.set_yticks(range(rows))
            ax.set_yticklabels([_short(names[o]) for o in reversed(others)])
            ax.set_ylim(-0.7, rows - 0.4)
            ax.grid(axis="y", visible=False)
            if axis:
                ax.set_ylabel(axis)
            ax.set_title(f"{_axis_title(cmp, res.metric)}: option − {_short(names[cmp.baseline])}", loc="left")
            lo, hi = ax.get_xlim()
            span = max(abs(lo), abs(hi), 1e-9)
            ax.set_xlim(min(lo, -0.08 * span), max(hi, 0.08 * span))
            _thousands(ax, "x")
        axes[0].legend(loc="lower right", bbox_to_anchor=(1.0, 1.12), ncols=2, frameon=False)
        fig.suptitle(f"Differences from the baseline, {round(100 * cmp.level)} % intervals", fontweight="bold",
                     fontsize=12, x=0.01, ha="left")
    return fig


# -------------------------------------------------------------------- means
def means_figure(cmp: Comparison) -> Figure:
    """One panel per metric: the mean of each option over its replications, with its interval."""
    colours = option_colours(cmp)
    names, axis = _names(cmp)
    k = len(cmp.results)
    cols = 2 if k > 1 else 1
    nrows = math.ceil(k / cols)
    with new_figure(11, 0.6 + 3.1 * nrows) as fig:
        axes = fig.subplots(nrows, cols, squeeze=False).ravel()
        for ax, res in zip(axes, cmp.results, strict=False):
            x = np.arange(len(cmp.options))
            means = [res.means[o] for o in cmp.options]
            est = np.array([m.estimate for m in means])
            err = np.array([[m.estimate - m.low, m.high - m.estimate] for m in means]).T
            err = np.nan_to_num(err)
            ax.bar(x, est, color=[colours[o] for o in cmp.options], width=0.62, alpha=0.9)
            ax.errorbar(x, est, yerr=err, fmt="none", ecolor="#111111", elinewidth=1.4, capsize=5)
            ax.set_xticks(x)
            wide = len(x) > 4 or max(len(names[o]) for o in cmp.options) > 60 / max(len(x), 1)
            ax.set_xticklabels([_short(names[o], 22) for o in cmp.options], rotation=20 if wide else 0,
                               ha="right" if wide else "center")
            ax.set_title(_axis_title(cmp, res.metric), loc="left")
            ax.grid(axis="x", visible=False)
            if axis:
                ax.set_xlabel(axis)
            top = np.nanmax(est + err[1]) if len(est) else 1.0
            ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
            _thousands(ax, "y")
        for ax in axes[k:]:
            ax.set_visible(False)
        fig.suptitle(f"Option means with {round(100 * cmp.level)} % intervals (t, across replications)",
                     fontweight="bold", fontsize=12, x=0.01, ha="left")
    return fig


# ------------------------------------------------------------------ service
def service_band_figure(rep: Replicates, cmp: Comparison) -> Figure:
    """Water: mean served fraction Q(t) per option with its band, and the paired change in customers out."""
    colours = option_colours(cmp)
    hours = rep.grid_s / 3600.0
    with new_figure(11, 6.6) as fig:
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        lowest = 100.0
        for o in cmp.options:
            rows = rep.served.get(o)
            if rows is None or not len(rows):
                continue
            mean, lo, hi = _band(rows * 100.0, cmp.level)
            lo, hi = np.clip(lo, 0.0, 100.0), np.clip(hi, 0.0, 100.0)  # a served fraction stays in [0, 100 %]
            lowest = min(lowest, float(np.min(lo)))
            top.fill_between(hours, lo, hi, step="post", color=colours[o], alpha=0.18, lw=0)
            top.step(hours, mean, where="post", color=colours[o], lw=1.8, label=f"{_short(o)} (n={len(rows)})")
        pad = max((100.0 - lowest) * 0.08, 0.001)
        top.set_ylim(max(0.0, lowest - pad), 100.0 + pad)
        span = 100.0 - lowest
        decimals = 0 if span >= 5 else 1 if span >= 0.5 else 2 if span >= 0.05 else 3
        top.yaxis.set_major_formatter(PercentFormatter(100.0, decimals=decimals, symbol=" %"))
        top.set_ylabel("Customers served, Q(t)")
        top.set_title("Water service: mean over replications, band = "
                      f"{round(100 * cmp.level)} % interval of the mean", loc="left")
        top.legend(loc="lower right", frameon=True, ncols=min(3, len(cmp.options)))
        n_total = float(rep.customers_total)
        for o in cmp.others:
            rows = rep.served_delta.get(o)
            if rows is None or not len(rows):
                continue
            mean, lo, hi = _band(-rows * n_total, cmp.level)
            bottom.fill_between(hours, lo, hi, step="post", color=colours[o], alpha=0.22, lw=0)
            bottom.step(hours, mean, where="post", color=colours[o], lw=1.6, label=_short(o))
        bottom.axhline(0, color="#222222", lw=1)
        bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+,.0f}" if v else "0"))
        bottom.set_ylabel("Δ customers without water")
        bottom.set_title(f"Paired change against {_short(cmp.baseline)} (option − baseline, same seed); "
                         "below 0: fewer customers cut off", loc="left")
        bottom.set_xlabel("Time since start (h)")
        bottom.set_xlim(0, hours[-1] if len(hours) else 1.0)
    return fig


# ---------------------------------------------------------------- responses
def _ecdf_rows(samples: list[np.ndarray], grid: np.ndarray) -> np.ndarray:
    rows = [np.searchsorted(np.sort(s), grid, side="right") / s.size for s in samples if s.size]
    return np.vstack(rows) if rows else np.empty((0, grid.size))


def response_cdf_figure(rep: Replicates, cmp: Comparison) -> Figure:
    """Share of emergency incidents reached within t: mean ECDF over replications per option, with band.

    Left: total response (call to arrival); right: dispatch to arrival with
    the GB 51080 target. The dotted line is the standards' fractile (``standards.fractile``, 0.9 by default).
    """
    colours = option_colours(cmp)
    p = rep.standards.fractile
    target = rep.standards.gb51080_dispatch_to_arrival_s
    with new_figure(11, 4.9) as fig:
        axes = fig.subplots(1, 2, sharey=True)
        panels = (("Total response (call to arrival)", rep.response, None),
                  ("Dispatch to arrival", rep.dispatch, target))
        for ax, (title, data, line) in zip(axes, panels, strict=True):
            pooled = [s for o in cmp.options for s in data.get(o, []) if s.size]
            xmax = float(np.quantile(np.concatenate(pooled), 0.995)) if pooled else 600.0
            xmax = max(xmax, (line or 0) * 1.25, 60.0)
            grid = np.linspace(0.0, xmax, 400)
            for o in cmp.options:
                rows = _ecdf_rows(data.get(o, []), grid)
                if not len(rows):
                    continue
                mean, lo, hi = _band(rows, cmp.level)
                ax.fill_between(grid / 60.0, lo, hi, color=colours[o], alpha=0.18, lw=0)
                ax.plot(grid / 60.0, mean, color=colours[o], lw=1.8, label=_short(o))
            ax.axhline(p, color="#555555", lw=0.9, ls=":")
            ax.text(0.01, p + 0.015, f"{round(100 * p)} %", transform=ax.get_yaxis_transform(), fontsize=8,
                    color="#555555")
            if line is not None:
                ax.axvline(line / 60.0, color=_GB, lw=1.4, ls="--", label=f"GB 51080 target {fmt_duration(line)}")
            ax.set_xlim(0, xmax / 60.0)
            ax.set_ylim(0, 1.02)
            ax.set_xlabel("Minutes")
            ax.set_title(title, loc="left")
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))
            ax.legend(loc="lower right", frameon=True)
        axes[0].set_ylabel("Share of emergency incidents reached")
        fig.suptitle(f"Response times: mean ECDF over replications, band = {round(100 * cmp.level)} % interval",
                     fontweight="bold", fontsize=12, x=0.01, ha="left")
    return fig


# ---------------------------------------------------------------------- map
def _cells(df: pd.DataFrame, extent: tuple[float, float, float, float], cell_m: float) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x0, x1, y0, y1 = extent
    xe = np.arange(math.floor(x0 / cell_m) * cell_m, x1 + cell_m, cell_m)
    ye = np.arange(math.floor(y0 / cell_m) * cell_m, y1 + cell_m, cell_m)
    total, _, _ = np.histogram2d(df["x_m"], df["y_m"], bins=[xe, ye], weights=df["delta_s"])
    count, _, _ = np.histogram2d(df["x_m"], df["y_m"], bins=[xe, ye])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return xe, ye, mean, count


def _km(ax: Axes) -> None:
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}"))
    ax.set_xlabel("x (km)")
    ax.grid(False)


def map_panels(rep: Replicates, cmp: Comparison) -> tuple[list[str], bool, list[str]]:
    """What :func:`difference_map_figure` draws: (options drawn, whether a burst panel is beside each, options left out)."""
    others = cmp.others
    return others[:_MAX_MAP_OPTIONS], len(rep.bursts) > 0, others[_MAX_MAP_OPTIONS:]


def difference_map_caption(rep: Replicates, cmp: Comparison, cell_m: float = 1000.0) -> str:
    """The caption of :func:`difference_map_figure`, naming the panels it draws."""
    shown, bursts, left_out = map_panels(rep, cmp)
    response = (f"mean change in total response of the same background calls per {cell_m / 1000:g} km cell "
                "(option − baseline; blue is faster)")
    if bursts:
        text = (f"One row per option. Left: {response}. Right: change in the hours from a main's break to its "
                "repair, at each burst (the same hazard under both options; purple is shorter).")
    elif len(shown) > 1:
        text = f"One panel per option: {response}."
    else:
        text = f"{response[0].upper()}{response[1:]}."
    text += " Pooled over replications."
    if left_out:
        text += f" Not drawn (at most {_MAX_MAP_OPTIONS} options): {', '.join(left_out)}."
    return text


def difference_map_figure(rep: Replicates, cmp: Comparison, cell_m: float = 1000.0) -> Figure:
    """Where outcomes differ: per option, the paired change by place, pooled over replications.

    Per option (the first :data:`_MAX_MAP_OPTIONS`, see :func:`map_panels`):
    the mean change in total response of the same background calls, by
    ``cell_m`` grid cell (each seed lays out its own streets, so places are
    binned, not zones); with water-main bursts, beside it the change in hours
    from break to repair at each burst (the same hazard under both options).
    Without bursts the options' panels fill two columns. Blue is better.
    """
    others, has_bursts, _ = map_panels(rep, cmp)
    names, _ = _names(cmp)
    # With bursts: a row per option (response | water); without: the options two to a row.
    nrows, ncols = (len(others), 2) if has_bursts else (math.ceil(len(others) / 2), min(len(others), 2))
    x0, x1, y0, y1 = rep.extent_m
    aspect = (y1 - y0) / max(x1 - x0, 1.0) if x1 > x0 else 1.0
    panel_w = 10.0 / 2
    with new_figure(11, 1.6 + nrows * (panel_w * aspect + 0.45)) as fig:
        grid = fig.subplots(nrows, ncols, squeeze=False)
        if has_bursts:
            resp_axes, burst_axes = list(grid[:, 0]), list(grid[:, 1])
        else:
            resp_axes, burst_axes = list(grid.ravel()[: len(others)]), []
            for ax in grid.ravel()[len(others):]:
                ax.set_visible(False)
        cells = {o: _cells(rep.incidents[rep.incidents["option"] == o], rep.extent_m, cell_m) for o in others}
        # Floors keep a few seconds or minutes from looking like a large change.
        lim_s = max([float(np.nanmax(np.abs(c[2]))) for c in cells.values() if np.isfinite(c[2]).any()] + [30.0])
        lim_h = max(([float(np.abs(rep.bursts["delta_h"]).max())] if has_bursts else []) + [0.5])
        norm_s = TwoSlopeNorm(0.0, -lim_s, lim_s)
        norm_h = TwoSlopeNorm(0.0, -lim_h, lim_h)
        mesh = dots = None
        for i, o in enumerate(others):
            ax = resp_axes[i]
            xe, ye, mean, count = cells[o]
            mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(mean.T), cmap="RdBu_r", norm=norm_s,
                                 edgecolors="white", linewidth=0.6)
            for ix in range(mean.shape[0]):
                for iy in range(mean.shape[1]):
                    if np.isfinite(mean[ix, iy]) and abs(mean[ix, iy]) >= 0.5:
                        ax.text((xe[ix] + xe[ix + 1]) / 2, (ye[iy] + ye[iy + 1]) / 2, f"{mean[ix, iy]:+.0f}",
                                ha="center", va="center", fontsize=6.5,
                                color="white" if abs(mean[ix, iy]) > 0.6 * lim_s else "#222222")
            ax.set_title(f"{_short(names[o], 30)}: response" if has_bursts else _short(names[o], 40), loc="left",
                         fontsize=10)
            ax.set_ylabel("y (km)")
            _km(ax)
            if has_bursts:
                bx = burst_axes[i]
                b = rep.bursts[rep.bursts["option"] == o]
                pad = 0.02 * (xe[-1] - xe[0])
                bx.set_xlim(xe[0] - pad, xe[-1] + pad)
                bx.set_ylim(ye[0] - pad, ye[-1] + pad)
                bx.add_patch(_frame(xe, ye))
                dots = bx.scatter(b["x_m"], b["y_m"], c=b["delta_h"], cmap="PuOr_r", norm=norm_h, s=46,
                                  edgecolors="#333333", linewidths=0.5, zorder=3, clip_on=False)
                bx.set_title(f"{_short(names[o], 22)}: {len(b)} bursts", loc="left", fontsize=10)
                _km(bx)
        if mesh is not None:
            fig.colorbar(mesh, ax=resp_axes, label="Δ total response of the same calls, s (option − baseline)",
                         shrink=0.8, location="bottom", aspect=40, pad=0.04)
        if dots is not None:
            fig.colorbar(dots, ax=burst_axes, label="Δ hours from break to repair (option − baseline)",
                         shrink=0.8, location="bottom", aspect=40, pad=0.04)
        fig.suptitle(f"Where outcomes differ from {_short(cmp.baseline)} (pooled over replications)",
                     fontweight="bold", fontsize=12, x=0.01, ha="left")
    return fig


def _frame(xe: np.ndarray, ye: np.ndarray) -> object:
    from matplotlib.patches import Rectangle

    return Rectangle((xe[0], ye[0]), xe[-1] - xe[0], ye[-1] - ye[0], fill=True, facecolor="#f4f4f4",
                     edgecolor="#cccccc", zorder=0)
