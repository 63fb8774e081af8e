"""The waterlogging section of the per-run report: three figures and a table of headline numbers.

Reads the run folder only (and its ``dry/`` twin when present). Figures:
the hyetograph with the depth at the worst flooding points; a map of flooded,
slowed and closed roads at the flood peak; response times of the same
background calls dry and wet. :func:`add_flood_section` writes them under
``figures/`` and appends a section to ``report.md`` and ``report.html``
(before ``</body>``), each file written to a temporary name and renamed.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from analysis.figures import new_figure, png_bytes, segment_line
from analysis.flood import flood_points, light_closed_at, link_factors_at, rain_window
from analysis.rundir import Run, load_run
from analysis.rundir import atomic_write as _atomic_write

__all__ = ["FLOOD_FIGURES", "add_flood_section", "depth_figure", "flood_map_figure", "response_figure"]

FLOOD_FIGURES: dict[str, tuple[str, str]] = {
    "flood_hyetograph.png": ("Rain and ponding depth",
                             "Rain intensity per model step (bars) and depth at the five deepest flooding points."),
    "flood_map.png": ("Roads at the flood peak",
                      "Grey: dry; orange: slowed (darker = slower); red: closed to emergency units; "
                      "purple: closed to ambulances and utility crews only (the fire service drives on); "
                      "blue dots: flooding points."),
    "flood_response.png": ("Response times dry and wet",
                           "Cumulative share of the same background calls reached within a time, "
                           "without rain (dry twin) and with it."),
}


def depth_figure(run: Run, n_points: int = 5) -> bytes:
    rain = run.hazards[run.hazards["kind"] == "weather.rain"]
    with new_figure(11.0, 4.4) as fig:  # the width of the report's other figures: same type size
        ax = fig.add_subplot()
        if len(rain):
            r = rain.iloc[0]
            p = json.loads(r["params"])
            mm = np.asarray(p["mm"], float)
            step = float(p["step_s"])
            t = (float(r["t_s"]) + np.arange(len(mm)) * step) / 3600.0
            ax.bar(t, mm * 3600.0 / step, width=step / 3600.0, align="edge", color="#9ecae1", label="rain")
        ax.set_xlabel("time since start (h)")
        ax.set_ylabel("rain intensity (mm/h)")
        ax2 = ax.twinx()
        pts = flood_points(run)
        pond = run.events[run.events["kind"] == "ponding"]
        if len(pts):
            worst = pts.groupby("scope")["peak_depth_m"].max().sort_values(ascending=False).head(n_points)
            for scope in worst.index:
                g = pond[pond["scope"] == scope]
                ax2.step(g["t_s"] / 3600.0, g["value"], where="post", label=scope.removeprefix("roads.node."))
            ax2.legend(title="node", fontsize=7, loc="upper right")
        ax2.set_ylabel("depth at low point (m)")
        return png_bytes(fig)


def flood_map_figure(run: Run, t_s: float) -> bytes:
    nodes, links = run.city["nodes"], run.city["links"]
    x, y = nodes["x_m"].to_numpy(float) / 1000.0, nodes["y_m"].to_numpy(float) / 1000.0
    u, v = links["u"].to_numpy(int), links["v"].to_numpy(int)
    fac = link_factors_at(run, t_s) if np.isfinite(t_s) else np.ones(len(links))
    closed = ~np.isfinite(fac)
    light = (light_closed_at(run, t_s) if np.isfinite(t_s) else np.zeros(len(links), bool)) & ~closed
    slow = np.isfinite(fac) & (fac > 1.0) & ~light
    # Slowed links in four shades by the share of free-flow speed left (darker: slower).
    share = np.clip(1.0 / np.where(slow, fac, 1.0), 0.0, 1.0)
    shade = np.minimum((share * 4).astype(int), 3)
    groups = [(~slow & ~closed, (0.75, 0.75, 0.75), 0.5)]
    groups += [(slow & (shade == k), (1.0, 0.35 + 0.4 * (k + 0.5) / 4, 0.0), 1.6) for k in range(4)]
    groups.append((light, (0.55, 0.15, 0.65), 1.6))
    groups.append((closed, (0.85, 0.1, 0.1), 1.6))
    with new_figure(11.0, 7.8) as fig:
        ax = fig.add_subplot()
        for sel, colour, width in groups:
            if sel.any():
                ax.add_line(segment_line(x[u[sel]], y[u[sel]], x[v[sel]], y[v[sel]], color=colour, lw=width))
        pts = flood_points(run)
        if len(pts):
            ids = pts["scope"].str.removeprefix("roads.node.").astype(int).to_numpy()
            ax.scatter(x[ids], y[ids], s=18, color="#2171b5", zorder=3)
        ax.set_aspect("equal")
        ax.autoscale()
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
        ax.set_title(f"Flood peak, t = {t_s / 3600.0:.2f} h\n{int(closed.sum())} links closed, "
                     f"{int(light.sum())} more closed to light vehicles, {int(slow.sum())} slowed", loc="left")
        # A figure legend "outside": the constrained layout makes room for it (an axes legend
        # anchored outside the axes was cut off at the figure's edge).
        fig.legend(handles=[
            Line2D([], [], color=(0.85, 0.1, 0.1), lw=2.0, label="closed to units\n(flood too deep, or works)"),
            Line2D([], [], color=(0.55, 0.15, 0.65), lw=2.0, label="closed to ambulances\nand utility crews"),
            Line2D([], [], color=(1.0, 0.45, 0.0), lw=2.0, label="slowed (darker: slower)"),
            Line2D([], [], marker="o", ls="none", color="#2171b5", label="flooding point (> 10 cm)"),
        ], loc="outside right upper", fontsize=8)
        return png_bytes(fig)


def _responses(run: Run, window: tuple[float, float] | None) -> pd.Series:
    i = run.incidents[run.incidents["source"] == "background"]
    if window is not None:
        i = i[(i["t_occur_s"] >= window[0]) & (i["t_occur_s"] < window[1])]
    return (i["t_arrival_s"] - i["t_report_s"]).dropna().astype(float)


def response_figure(wet: Run, dry: Run | None, window: tuple[float, float] | None) -> bytes:
    with new_figure(11.0, 4.4) as fig:
        ax = fig.add_subplot()
        for name, run, style in (("dry", dry, "--"), ("wet", wet, "-")):
            if run is None:
                continue
            r = np.sort(_responses(run, window).to_numpy()) / 60.0
            if len(r):
                ax.step(r, np.arange(1, len(r) + 1) / len(r), where="post", linestyle=style,
                        label=f"{name} (n={len(r)})")
        ax.set_xlabel("total response, report to first arrival (min)")
        ax.set_ylabel("share of calls")
        ax.legend(fontsize=8)
        return png_bytes(fig)


def _rows(flood: dict[str, Any]) -> list[tuple[str, str]]:
    def hours(s: Any) -> str:
        return "-" if s is None or not np.isfinite(float(s)) else f"{float(s) / 3600.0:.2f} h"

    rows = [
        ("Flooding points (> 10 cm)", str(flood["flood_points"])),
        ("Cleared within 2 h of the rain stopping", f"{flood['flood_points_met_2h_aim']} of {flood['flood_points']}"),
        ("Clear time after rain, median / max", f"{hours(flood['clear_after_rain_median_s'])} / "
                                                f"{hours(flood['clear_after_rain_max_s'])}"),
        ("Flooded road-km·h (> 10 cm)", f"{flood['flooded_road_km_h']:.1f}"),
        ("Peak roads closed to every unit", str(flood["peak_closed_roads"])),
        ("Peak roads closed to ambulances and utility crews", str(flood.get("peak_closed_roads_light", "-"))),
        ("Vehicles trapped in underpasses", str(flood["vehicles_trapped"])),
        ("Rescue calls from people trapped by deep water", str(flood.get("people_trapped_calls", 0))),
    ]
    for lim in ("300", "480", "600"):
        key = f"within_{lim}s"
        rows.append((f"Population within a {int(lim) // 60}-min drive of a fire station, dry / at peak",
                     f"{flood['coverage_dry'][key]:.1%} / {flood['coverage_peak'][key]:.1%}"))
    for key, label in (("response_inflation_flood", "during the flood"), ("response_inflation_all", "all day")):
        inf = flood.get(key)
        if inf and inf.get("n_pairs"):
            rows.append((f"Response-time inflation {label} (wet − dry, same calls)",
                         f"mean {inf['mean_s']:+.0f} s, p90 {inf['p90_s']:+.0f} s, n = {inf['n_pairs']}"))
    return rows


def add_flood_section(run_dir: str | Path, flood: dict[str, Any]) -> list[str]:
    """Write the flood figures and append the section to ``report.md`` and ``report.html``."""
    root = Path(run_dir)
    run = load_run(root)
    dry = load_run(root / "dry") if (root / "dry" / "events.csv").is_file() else None
    t0, _ = rain_window(run)
    over = run.events[run.events["kind"] == "flood_over"]
    t1 = float(over["t_s"].min()) if len(over) else float(run.events["t_s"].max())
    window = (t0, t1) if np.isfinite(t0) else None
    figs = {
        "flood_hyetograph.png": depth_figure(run),
        "flood_map.png": flood_map_figure(run, float(flood.get("flood_peak_t_s", float("nan")))),
        "flood_response.png": response_figure(run, dry, window),
    }
    for name, data in figs.items():
        _atomic_write(root / "figures" / name, data)
    rows = _rows(flood)
    md = ["", "## Waterlogging", "", "| measure | value |", "|---|---|"]
    md += [f"| {a} | {b} |" for a, b in rows]
    for name, (title, caption) in FLOOD_FIGURES.items():
        md += ["", f"![{title}](figures/{name})", "", f"*{caption}*"]
    md_path = root / "report.md"
    if md_path.is_file():
        _atomic_write(md_path, (md_path.read_text(encoding="utf-8") + "\n".join(md) + "\n").encode("utf-8"))
    h = ['<section id="waterlogging"><h2>Waterlogging</h2><table>']
    h += [f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>" for a, b in rows]
    h.append("</table>")
    for name, (title, caption) in FLOOD_FIGURES.items():
        b64 = base64.b64encode(figs[name]).decode("ascii")
        h.append(f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{b64}">'
                 f"<figcaption>{html.escape(title)}: {html.escape(caption)}</figcaption></figure>")
    h.append("</section>")
    html_path = root / "report.html"
    if html_path.is_file():
        text = html_path.read_text(encoding="utf-8")
        cut = text.rfind("<footer>") if "<footer>" in text else text.rfind("</body>")
        text = text[:cut] + "\n".join(h) + "\n" + text[cut:]
        _atomic_write(html_path, text.encode("utf-8"))
    return [f"figures/{n}" for n in figs] + ["report.md", "report.html"]
