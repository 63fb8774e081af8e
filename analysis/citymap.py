"""The run map: roads, stations, incidents and the water mains taken out of service.

Built from the ``city/*.csv`` geometry the engine writes next to the tables,
so analysis never rebuilds the city. Pipes and incidents are placed by road
node (mains follow the roads). :func:`outage_pipes` reads the burst and
isolated pipes from ``events.csv``; :func:`city_map_figure` draws the map and
returns a Figure, writing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from analysis.figures import new_figure, segment_line, type_colour

__all__ = ["FACILITY_STYLE", "ROAD_CLASSES", "STATION_STYLE", "city_map_figure", "dark_zones", "outage_pipes"]

#: ``links.csv`` road_class indexes this tuple (``sim.city.ROAD_CLASSES``).
ROAD_CLASSES: tuple[str, ...] = ("expressway", "arterial", "local")
_ROAD_STYLE = {  # class -> (colour, width, zorder)
    "expressway": ("#3b3b3b", 3.2, 1.3),
    "arterial": ("#7a7a7a", 1.7, 1.2),
    "local": ("#cfcfcf", 0.6, 1.1),
}
#: Station kind -> (marker, colour, label).
STATION_STYLE: dict[str, tuple[str, str, str]] = {
    "fire": ("^", "#c62828", "Fire station"),
    "ambulance": ("P", "#1565c0", "Ambulance station"),
    "water_depot": ("s", "#00838f", "Water depot"),
    "power_depot": ("p", "#e08214", "Power depot"),
    "gas_depot": ("h", "#1b7837", "Gas depot"),
    "elevator_centre": ("X", "#8073ac", "Elevator emergency centre"),
}
#: ``facilities.csv`` kind -> (marker, colour, legend label): sites the lifelines depend on.
FACILITY_STYLE: dict[str, tuple[str, str, str]] = {
    "hospital": ("*", "#d81b60", "Hospital"),
    "substation": ("d", "#f9a825", "Substation"),
    "pump_station": ("v", "#0277bd", "Water booster pump station"),
}
_BURST = "#e7298a"
_SEGMENT = "#7b2cbf"


def outage_pipes(events: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(burst pipe ids, pipe ids of the isolated segments), in order of first appearance.

    Bursts are the scopes ``water.pipe.ID`` of ``burst`` events; segments the
    ``segment=P1,P2,...`` notes of ``isolate`` events.
    """
    def pipe_id(scope: str) -> str:
        return scope.removeprefix("water.pipe.")

    bursts = [pipe_id(s) for s in events.loc[events["kind"] == "burst", "scope"].astype(str)]
    seg: list[str] = []
    for note in events.loc[events["kind"] == "isolate", "note"].astype(str):
        for part in note.split(";"):
            key, _, value = part.strip().partition("=")
            if key == "segment":
                seg.extend(p.strip() for p in value.split(",") if p.strip())
    return list(dict.fromkeys(bursts)), list(dict.fromkeys(seg))


def dark_zones(events: pd.DataFrame, service: pd.DataFrame) -> tuple[float | None, list[str]]:
    """(the moment most power customers were out, the zones whose feeder was down then).

    Feeders are ``power.feeder.F<zone id>``; a feeder counts as down at ``t``
    when its last ``lifeline_down``/``lifeline_up`` record at or before ``t``
    is a down."""
    power = service[service["lifeline"] == "power"] if len(service) else service
    if not len(power) or not (power["customers_out"] > 0).any():
        return None, []
    t_worst = float(power.loc[power["customers_out"].idxmax(), "t_s"])
    ev = events[events["kind"].isin(["lifeline_down", "lifeline_up"])
                & events["scope"].astype(str).str.startswith("power.feeder.")]
    state: dict[str, bool] = {}
    for r in ev[ev["t_s"] <= t_worst].itertuples(index=False):
        state[str(r.scope)] = r.kind == "lifeline_down"
    zones = sorted(scope.rpartition(".")[2].removeprefix("F") for scope, down in state.items() if down)
    return t_worst, zones


def _draw_dark(ax: Axes, nodes: pd.DataFrame, zones: pd.DataFrame, dark: list[str], t_s: float) -> list[Line2D]:
    """Shade the road nodes of the zones without power (nearest zone centre, the engine's rule)."""
    zx, zy = zones["x_m"].to_numpy(dtype=float), zones["y_m"].to_numpy(dtype=float)
    x, y = nodes["x_m"].to_numpy(dtype=float), nodes["y_m"].to_numpy(dtype=float)
    near = np.argmin((x[:, None] - zx[None, :]) ** 2 + (y[:, None] - zy[None, :]) ** 2, axis=1)
    ids = zones["zone"].astype(str).to_numpy()
    sel = np.isin(ids[near], dark)
    ax.scatter(x[sel] / 1000.0, y[sel] / 1000.0, s=14, color="#fdb863", alpha=0.55, lw=0, zorder=0.9)
    h, m = divmod(int(round(t_s)) // 60, 60)
    return [Line2D([], [], marker="s", ls="none", color="#fdb863", ms=9,
                   label=f"No power at {h}:{m:02d} h (worst)")]


def _line(nodes: pd.DataFrame, u: pd.Series, v: pd.Series, **style: object) -> Line2D:
    """The links ``u -> v`` (road node ids) as one line in km; links with an unknown end are left out."""
    xy = nodes.set_index("node")[["x_m", "y_m"]]
    a = xy.reindex(u.to_numpy()).to_numpy(dtype=float) / 1000.0
    b = xy.reindex(v.to_numpy()).to_numpy(dtype=float) / 1000.0
    return segment_line(a[:, 0], a[:, 1], b[:, 0], b[:, 1], **style)


def _spread_shared(stations: pd.DataFrame, nodes: pd.DataFrame) -> pd.DataFrame:
    """Stations on one street corner (a water, a gas and a power depot, say) drawn round it, not on top
    of one another, so every kind in the legend shows: a ring of 1.5 % of the map's extent."""
    key = stations["x_m"].round(1).astype(str) + "," + stations["y_m"].round(1).astype(str)
    n = key.map(key.value_counts())
    if (n <= 1).all():
        return stations
    extent = max(float(np.ptp(nodes["x_m"].to_numpy(float))), float(np.ptp(nodes["y_m"].to_numpy(float))), 100.0)
    k = stations.groupby(key, sort=False).cumcount().to_numpy(float)
    angle = 2.0 * np.pi * k / n.to_numpy(float) + np.pi / 2.0
    r = np.where(n.to_numpy() > 1, 0.015 * extent, 0.0)
    return stations.assign(x_m=stations["x_m"].to_numpy(float) + r * np.cos(angle),
                           y_m=stations["y_m"].to_numpy(float) + r * np.sin(angle))


def _draw_roads(ax: Axes, nodes: pd.DataFrame, links: pd.DataFrame) -> list[Line2D]:
    handles: list[Line2D] = []
    cls = links["road_class"].astype(int)
    for k in (2, 1, 0):
        name = ROAD_CLASSES[k]
        colour, width, z = _ROAD_STYLE[name]
        sel = links[cls == k]
        if len(sel):
            ax.add_line(_line(nodes, sel["u"], sel["v"], color=colour, lw=width, zorder=z,
                              solid_capstyle="round"))
            handles.insert(0, Line2D([], [], color=colour, lw=width, label=name.capitalize()))
    for flag, colour, ls, label in (("bridge", "#e08214", "-", "Bridge"), ("tunnel", "#542788", (0, (2, 1)), "Tunnel"),
                                    ("underpass", "#35978f", "-", "Underpass")):
        sel = links[links[flag].astype(bool)]
        if flag == "bridge":  # an expressway viaduct stays drawn as the expressway; river bridges stand out
            sel = sel[sel["road_class"].astype(int) != ROAD_CLASSES.index("expressway")]
        if len(sel):
            ax.add_line(_line(nodes, sel["u"], sel["v"], color=colour, lw=4.2, ls=ls, zorder=1.5))
            handles.append(Line2D([], [], color=colour, lw=4.2, ls=ls, label=label))
    return handles


def _draw_pipes(ax: Axes, nodes: pd.DataFrame, pipes: pd.DataFrame, bursts: list[str],
                segment: list[str]) -> list[Line2D]:
    handles: list[Line2D] = []
    for ids, colour, width, z, label in ((segment, _SEGMENT, 3.4, 2.0, "Isolated main segment"),
                                         (bursts, _BURST, 6.0, 2.1, "Burst main")):
        sel = pipes[pipes["pipe"].isin(ids)]
        if len(sel):
            ax.add_line(_line(nodes, sel["u"], sel["v"], color=colour, lw=width, zorder=z,
                              solid_capstyle="round", alpha=0.9))
            handles.append(Line2D([], [], color=colour, lw=width * 0.8, label=label))
    return handles


def city_map_figure(
    city: Mapping[str, pd.DataFrame],
    incidents: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    title: str = "City map",
    service: pd.DataFrame | None = None,
) -> Figure:
    """Roads by class, bridges and tunnels, stations by kind, hospitals, substations and pump
    stations, incidents by type, outage mains.

    ``city`` holds the ``city/*.csv`` frames by name (``nodes`` is needed for
    anything to be drawn); ``incidents`` places each incident at its ``x_m``,
    ``y_m``; ``events`` gives the burst and isolated pipes; with ``service``,
    the zones without power at the worst moment are shaded. Axes in km, equal
    aspect. Without geometry the figure says so.
    """
    nodes = city.get("nodes")
    height = 2.2  # just a note when there is no geometry
    if nodes is not None and len(nodes):
        height = 8.2
        dx = float(np.ptp(nodes["x_m"].to_numpy(dtype=float)))
        dy = float(np.ptp(nodes["y_m"].to_numpy(dtype=float)))
        if dx > 0:  # the map takes ~7.3 in of the width, the legend the rest
            height = min(10.0, max(4.8, 7.3 * dy / dx + 1.0))
    with new_figure(10.5, height) as fig:
        ax = fig.subplots()
        ax.set_title(title, loc="left")
        if nodes is None or nodes.empty:
            ax.text(0.5, 0.5, "No city geometry in this run folder (city/nodes.csv)", ha="center",
                    transform=ax.transAxes, color="#555555", fontsize=12)
            ax.set_axis_off()
            return fig
        handles: list[Line2D] = []
        links = city.get("links")
        if links is not None and len(links):
            handles += _draw_roads(ax, nodes, links)
        zones = city.get("zones")
        if service is not None and events is not None and zones is not None and len(zones):
            t_worst, dark = dark_zones(events, service)
            if dark and t_worst is not None:
                handles += _draw_dark(ax, nodes, zones, dark, t_worst)
        bursts, segment = outage_pipes(events) if events is not None else ([], [])
        pipes = city.get("pipes")
        if pipes is not None and len(pipes) and (bursts or segment):
            handles += _draw_pipes(ax, nodes, pipes, bursts, segment)
        if incidents is not None and len(incidents):
            types = tuple(sorted(incidents["type"].astype(str).unique()))
            for typ in types:
                sel = incidents[incidents["type"] == typ]
                reached = sel["t_arrival_s"].notna()
                colour = type_colour(typ, types)
                ax.scatter(sel.loc[reached, "x_m"] / 1000.0, sel.loc[reached, "y_m"] / 1000.0, s=22,
                           color=colour, edgecolors="white", linewidths=0.5, zorder=4, alpha=0.9)
                ax.scatter(sel.loc[~reached, "x_m"] / 1000.0, sel.loc[~reached, "y_m"] / 1000.0, s=34,
                           facecolors="none", edgecolors=colour, linewidths=1.5, zorder=4)
                handles.append(Line2D([], [], marker="o", ls="none", color=colour, mec="white",
                                      label=f"{typ.replace('_', ' ').capitalize()} ({len(sel)})"))
            if (incidents["t_arrival_s"].isna()).any():
                handles.append(Line2D([], [], marker="o", ls="none", mfc="none", mec="#444444",
                                      label="Incident never reached"))
        facilities = city.get("facilities")
        if facilities is not None and len(facilities):
            for kind, sel in facilities.groupby("kind", sort=True):
                marker, colour, label = FACILITY_STYLE.get(str(kind), ("o", "#666666", str(kind)))
                star = marker == "*"  # a star reads small at the size of the other marks
                ax.scatter(sel["x_m"] / 1000.0, sel["y_m"] / 1000.0, marker=marker, s=170 if star else 60,
                           color=colour, edgecolors="white", linewidths=0.7, zorder=4.5)
                handles.append(Line2D([], [], marker=marker, ls="none", color=colour, mec="white",
                                      ms=13 if star else 8, label=f"{label} ({len(sel)})"))
        stations = city.get("stations")
        if stations is not None and len(stations):
            stations = _spread_shared(stations, nodes)
            for kind, sel in stations.groupby("kind", sort=True):
                marker, colour, label = STATION_STYLE.get(str(kind), ("D", "#444444", str(kind)))
                ax.scatter(sel["x_m"] / 1000.0, sel["y_m"] / 1000.0, marker=marker, s=110, color=colour,
                           edgecolors="black", linewidths=0.8, zorder=5)
                handles.append(Line2D([], [], marker=marker, ls="none", color=colour, mec="black",
                                      ms=9, label=f"{label} ({len(sel)})"))
        x = nodes["x_m"].to_numpy(dtype=float) / 1000.0
        y = nodes["y_m"].to_numpy(dtype=float) / 1000.0
        pad = 0.03 * max(float(np.ptp(x)), float(np.ptp(y)), 0.1)
        ax.set_xlim(x.min() - pad, x.max() + pad)
        ax.set_ylim(y.min() - pad, y.max() + pad)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(True)
        km = FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(km)
        ax.yaxis.set_major_formatter(km)
        ax.set_xlabel("x (km)")
        ax.set_ylabel("y (km)")
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                      frameon=False, handlelength=2.2)
    return fig
