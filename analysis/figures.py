"""Report figures for response times and lifeline service.

Each function builds a :class:`matplotlib.figure.Figure` from tables and
metric results and returns it; nothing here reads or writes files, and pyplot's
global state is never touched (figures are bound to the Agg canvas directly).
:func:`png_bytes` renders a figure for :mod:`analysis.report`, which owns the
disk. The map lives in :mod:`analysis.citymap`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MultipleLocator, PercentFormatter

from analysis.metrics import Standards, fractile
from analysis.resilience import ServiceCurve, resilience_loss

__all__ = [
    "RC",
    "TYPE_COLOURS",
    "fmt_duration",
    "fmt_hours",
    "lifelines_figure",
    "new_figure",
    "png_bytes",
    "segment_line",
    "response_time_figure",
    "type_colour",
    "water_service_figure",
]

#: Matplotlib settings for every report figure (applied only while a figure is built).
RC: dict[str, Any] = {
    "font.size": 10,
    "text.parse_math": False,  # names from configs and files are text: "$" must not start mathtext
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.92,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "figure.dpi": 100,
}

#: Colour per incident type, shared by the response figure and the map.
TYPE_COLOURS: dict[str, str] = {
    "fire": "#d62728",
    "rescue": "#ff7f0e",
    "medical": "#1f77b4",
    "water_main_break": "#17becf",
    "substation_fault": "#e08214",
    "feeder_fault": "#fdb863",
    "elevator_entrapment": "#8073ac",
    "gas_leak": "#a6dba0",
    "lpg_leak": "#5aae61",
    "gas_fire": "#d73027",
}
_SPARE_COLOURS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#2ca02c", "#9467bd")

_GB_COLOUR = "#b2182b"
_NFPA_COLOUR = "#2166ac"


def type_colour(typ: str, known: tuple[str, ...] = ()) -> str:
    """The colour of an incident type; types not in :data:`TYPE_COLOURS` get a spare one by position."""
    if typ in TYPE_COLOURS:
        return TYPE_COLOURS[typ]
    others = sorted(t for t in set(known) | {typ} if t not in TYPE_COLOURS)
    return _SPARE_COLOURS[others.index(typ) % len(_SPARE_COLOURS)]


def fmt_duration(seconds: float | None) -> str:
    """m:ss below an hour, h:mm:ss above; an en dash for ``None``/NaN."""
    if seconds is None or not np.isfinite(seconds):
        return "–"
    s = int(round(float(seconds)))
    sign = "-" if s < 0 else ""
    s = abs(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{sign}{h}:{m:02d}:{sec:02d}" if h else f"{sign}{m}:{sec:02d}"


def fmt_hours(seconds: float) -> str:
    """Hours with two decimals from one hour up; below, three significant digits and the minutes."""
    h = seconds / 3600.0
    if h == 0:
        return "0 h"
    return f"{h:.2f} h" if h >= 1 else f"{h:.3g} h ({seconds / 60.0:.3g} min)"


@contextmanager
def new_figure(width_in: float, height_in: float) -> Iterator[Figure]:
    """A constrained-layout Figure on the Agg canvas, built under :data:`RC`."""
    with mpl.rc_context(cast(Any, RC)):
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
        FigureCanvasAgg(fig)
        yield fig


def png_bytes(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (no timestamp or software tag, so reruns give the same bytes)."""
    buf = io.BytesIO()
    with mpl.rc_context(cast(Any, RC)):
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buf.getvalue()


def segment_line(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, **style: Any) -> Line2D:
    """Straight segments ``(x0, y0) -> (x1, y1)`` as one line broken by NaNs, in one style.

    A map of a 100,000-link city draws in a fraction of the time a
    ``LineCollection`` takes, which builds one path object per segment.
    Segments with a non-finite end are left out.
    """
    ok = np.isfinite(x0) & np.isfinite(y0) & np.isfinite(x1) & np.isfinite(y1)
    gap = np.full(int(ok.sum()), np.nan)
    xs = np.column_stack([np.asarray(x0, float)[ok], np.asarray(x1, float)[ok], gap]).ravel()
    ys = np.column_stack([np.asarray(y0, float)[ok], np.asarray(y1, float)[ok], gap]).ravel()
    return Line2D(xs, ys, **style)


# ------------------------------------------------------------ response times
def _ecdf_panel(
    ax: Axes,
    components: pd.DataFrame,
    measure: str,
    title: str,
    target: tuple[float, str, str] | None,
    p: float,
) -> None:
    types = sorted(components["type"].unique())
    xmax = 0.0
    drawn = 0
    for typ in types:
        rows = components[components["type"] == typ]
        x = np.sort(rows[measure].dropna().to_numpy(dtype=float)) / 60.0
        missing = int(rows[measure].isna().sum())
        if x.size == 0 and missing == 0:
            continue
        label = f"{typ.replace('_', ' ')}  n={x.size}"
        if missing:
            label += f" (+{missing} not reached)"
        if x.size == 0:
            ax.plot([], [], color=type_colour(typ, tuple(types)), label=label + "  p90 –")
            continue
        q = fractile(x, p)
        assert q is not None
        xmax = max(xmax, float(x.max()))
        y = np.arange(1, x.size + 1) / x.size
        colour = type_colour(typ, tuple(types))
        ax.step(np.r_[0.0, x, 1e6], np.r_[0.0, y, 1.0], where="post", color=colour, lw=1.8,
                label=f"{label}  p{round(100 * p)} {fmt_duration(q * 60)}")
        ax.plot([q], [p], "o", color=colour, ms=5.5, mec="white", mew=0.8, zorder=5)
        drawn += 1
    ax.axhline(p, color="#555555", lw=0.9, ls=":", zorder=1)
    ax.text(0.01, p + 0.015, f"{round(100 * p)} % fractile", transform=ax.get_yaxis_transform(),
            fontsize=8, color="#555555", va="bottom")
    right = max(xmax * 1.05, 1.0)
    if target is not None:
        t_s, text, colour = target
        right = max(right, t_s / 60.0 * 1.3)
        ax.axvline(t_s / 60.0, color=colour, lw=1.4, ls="--", zorder=2, label=text)
    ax.set_xlim(0, right)
    ax.set_ylim(0, 1.04)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0, symbol=" %"))
    ax.set_title(title, loc="left")
    ax.set_xlabel("Minutes")
    if drawn or len(ax.get_legend_handles_labels()[0]):
        ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.13), frameon=False, handlelength=1.6)
    if not drawn:
        ax.text(0.5, 0.55, "no incident reached", ha="center", transform=ax.transAxes, color="#777777")


def response_time_figure(components: pd.DataFrame, standards: Standards | Mapping[str, Any] | None = None) -> Figure:
    """ECDFs by incident type of total response, dispatch to arrival and travel.

    ``components`` is :func:`analysis.metrics.response_components` restricted to
    the incidents the standards address. Dots mark the fractile (p90); dashed
    lines the GB 51080 (5 min, dispatch to arrival) and NFPA 1710 (240 s, travel)
    targets. Incidents never reached are counted in the legend, not in the curves.
    """
    s = Standards.of(standards)
    p = s.fractile
    with new_figure(13.5, 5.4) as fig:
        axes = fig.subplots(1, 3, sharey=True)
        _ecdf_panel(axes[0], components, "response", "Total response (call to arrival)", None, p)
        _ecdf_panel(
            axes[1], components, "dispatch_to_arrival", "Dispatch to arrival",
            (s.gb51080_dispatch_to_arrival_s,
             f"GB 51080 target {fmt_duration(s.gb51080_dispatch_to_arrival_s)} (fire, rescue)", _GB_COLOUR), p,
        )
        _ecdf_panel(
            axes[2], components, "travel", "Travel (en route to arrival)",
            (s.nfpa1710_travel_s, f"NFPA 1710 target {fmt_duration(s.nfpa1710_travel_s)}", _NFPA_COLOUR), p,
        )
        axes[0].set_ylabel("Share of incidents reached")
        fig.suptitle("Response times of emergency incidents (first unit on scene)", fontweight="bold",
                     fontsize=12, x=0.01, ha="left")
    return fig


# ------------------------------------------------------------------ service


def _hour_step(hours: float) -> float:
    """A tick spacing in hours that gives at most 12 intervals: 15 min, 30 min, 1, 2, 3, 4, 6, 12, 24 h, ..."""
    for step in (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 12.0, 24.0):
        if hours / step <= 12:
            return step
    return 24.0 * math.ceil(hours / 24.0 / 12.0)


def _pct_text(value: float, span: float) -> str:
    """A percentage with as many decimals as a y-range of ``span`` points needs."""
    decimals = 0 if span >= 5 else 1 if span >= 0.5 else 2 if span >= 0.05 else 3
    return f"{value:.{decimals}f} %"


def water_service_figure(
    curve: ServiceCurve,
    events: pd.DataFrame | None = None,
    *,
    start_label: str = "",
    title: str = "Water service",
) -> Figure:
    """Q(t) in % against hours, with the Bruneau loss ∫(1 − Q) dt shaded and given in the legend.

    ``events`` (``events.csv``) adds main bursts and restorations as markers: the
    ``burst`` and ``restore`` records of water mains (``water.pipe.*``) only, since a
    substation or feeder coming back is a ``restore`` too. A flat 100 % line with a
    note when service never dropped.
    """
    h = curve.horizon_s / 3600.0
    x = np.append(curve.t_s, curve.horizon_s) / 3600.0
    y = np.append(curve.served, curve.served[-1]) * 100.0
    rl_s = resilience_loss(curve)
    q_min = float(curve.served.min()) * 100.0
    with new_figure(11, 4.4) as fig:
        ax = fig.subplots()
        if rl_s > 0:
            label = (f"Resilience loss RL = ∫(1 − Q) dt = {fmt_hours(rl_s)} "
                     f"({100 * rl_s / curve.horizon_s:.3g} % of the horizon)")
            ax.fill_between(x, y, 100.0, step="post", color="#f4a582", alpha=0.55, lw=0, label=label)
        ax.step(x, y, where="post", color="#053061", lw=2.0, label="Served fraction Q(t)")
        if events is not None and len(events):
            mains = events["scope"].astype(str).str.startswith("water.pipe.")
            for kind, marker, colour, name in (("burst", "v", "#b2182b", "main burst"),
                                               ("restore", "^", "#1b7837", "main restored")):
                t = events.loc[mains & (events["kind"] == kind), "t_s"].to_numpy(dtype=float) / 3600.0
                t = t[t <= h]
                if t.size:
                    ax.plot(t, np.full(t.size, 100.0), marker, color=colour, ms=8, ls="none",
                            label=name, clip_on=False, zorder=6)
        if rl_s > 0:
            lo = 0.0 if q_min < 50 else max(0.0, 100.0 - (100.0 - q_min) / 0.75)
            i = int(np.argmin(curve.served))
            text = f"min {_pct_text(q_min, 100.0 - lo)}"
            if q_min - lo > 0.1 * (100.0 - lo):  # room under the curve: right of the lowest step, below it
                ax.annotate(text, (x[i + 1], q_min), xytext=(4, -4), textcoords="offset points", va="top",
                            fontsize=9, color="#053061")
            else:
                ax.annotate(text, (x[i], q_min), xytext=(6, 5), textcoords="offset points", fontsize=9,
                            color="#053061")
        else:
            lo = 0.0
            ax.text(0.5, 0.45, "No interruption of water service during the run (RL = 0)",
                    transform=ax.transAxes, ha="center", fontsize=11, color="#555555")
        ax.set_ylim(lo, 100.0 + (100.0 - lo) * 0.06)
        ax.set_xlim(0, h)
        ax.xaxis.set_major_locator(MultipleLocator(_hour_step(h)))
        if curve.served[-1] < 1.0 - 1e-9:
            ax.annotate(f"not recovered at the horizon ({_pct_text(y[-1], 100.0 - lo)})", (h, y[-1]),
                        xytext=(-6, 5), textcoords="offset points", ha="right", fontsize=9, color="#053061")
        span = 100.0 - lo
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _pct_text(v, span)))
        ax.set_ylabel("Customers served (%)")
        xlabel = "Time since start (h)"
        if start_label:
            xlabel += f"; t = 0 at {start_label}"
        ax.set_xlabel(xlabel)
        if lo > 0:
            ax.text(0.995, 0.02, "y-axis zoomed", transform=ax.transAxes, ha="right", fontsize=8,
                    color="#777777")
        if curve.customers_total > 0:
            n = float(curve.customers_total)

            def to_customers(pct: Any) -> Any:
                return (100.0 - np.asarray(pct, dtype=float)) / 100.0 * n

            def to_pct(customers: Any) -> Any:
                return 100.0 - 100.0 * np.asarray(customers, dtype=float) / n

            sec = ax.secondary_yaxis("right", functions=(to_customers, to_pct))
            sec.set_ylabel("Customers without water")
            sec.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_title(f"{title}: served fraction Q(t)", loc="left")
        fig.legend(loc="outside lower center", ncols=4, frameon=False)
    return fig


#: Lifeline colours in :func:`lifelines_figure`.
_LIFELINE_COLOURS = {"power": "#e08214", "water": "#053061", "gas": "#1b7837"}


def lifelines_figure(service: pd.DataFrame, horizon_s: float, *, start_label: str = "") -> Figure:
    """Q(t) of every lifeline in ``service.csv`` on one axis; a lifeline's ``.cascade`` part dashed.

    The dashed line is ``1 − (customers out only through a cascade) / customers``:
    the gap between it and 100 % is the part of that lifeline's outage that
    another lifeline's failure caused.
    """
    from analysis.resilience import service_curve

    h = horizon_s / 3600.0
    names = list(dict.fromkeys(str(n) for n in service["lifeline"]))
    with new_figure(11, 4.4) as fig:
        ax = fig.subplots()
        lo = 100.0
        for name in sorted(names, key=lambda n: (n.endswith(".cascade"), n)):
            curve = service_curve(service, horizon_s, name)
            x = np.append(curve.t_s, curve.horizon_s) / 3600.0
            y = np.append(curve.served, curve.served[-1]) * 100.0
            base = name.removesuffix(".cascade")
            cascade = name.endswith(".cascade")
            colour = "#4393c3" if cascade else _LIFELINE_COLOURS.get(base, "#555555")
            label = f"{base.capitalize()}: customers cut off by a cascade only" if cascade else base.capitalize()
            ax.step(x, y, where="post", color=colour, lw=1.6 if cascade else 2.2, ls="--" if cascade else "-",
                    label=label)
            lo = min(lo, float(y.min()))
        floor = 0.0 if lo < 50 else max(0.0, 100.0 - (100.0 - lo) / 0.75)
        floor = min(floor, 90.0)  # a flat 100 % still gets an axis
        ax.set_ylim(floor, 100.0 + (100.0 - floor) * 0.06)
        ax.set_xlim(0, h)
        ax.xaxis.set_major_locator(MultipleLocator(_hour_step(h)))
        span = 100.0 - floor
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _pct_text(v, span if span > 0 else 100.0)))
        ax.set_ylabel("Customers served (%)")
        ax.set_xlabel("Time since start (h)" + (f"; t = 0 at {start_label}" if start_label else ""))
        ax.set_title("Lifelines: served fraction Q(t)", loc="left")
        fig.legend(loc="outside lower center", ncols=4, frameon=False)
    return fig
