"""Waterlogging metrics: pure functions of a run folder's tables (no engine, no I/O).

Inputs are a :class:`analysis.rundir.Run` (``events.csv``, ``incidents.csv``,
``city/links.csv``, ``city/nodes.csv``, ``city/zones.csv``,
``city/stations.csv``); the event kinds are those of ``sim/log.py``.

* **Flooded road-km·h** ``= sum_links L_i * |{t : depth_i(t) > h}|`` (km x h),
  with ``depth_i`` the step function of the link's ``flood`` events and
  ``h`` the flooding threshold (10 cm).
* **Closed roads**: links closed to units by the flood (``road_close`` with
  note ``flood``) counted over time; the peak of that step function. The same
  for links closed to light vehicles (note ``flood: light vehicles``:
  ambulances and utility crews stop at 30 cm, DOMAIN.md 3.1), which includes
  the links closed to every unit.
* **Flooding points**: ``flood_point`` .. ``flood_clear`` per low point; the
  clear time after the rain is ``max(0, t_clear - t_rain_end)``, against the
  city's aim of 2 h (Nanjing 雨停2小时积水全部排完, DOMAIN.md 3.5); points
  still flooded at the horizon count as not meeting it.
* **Coverage**: the share of population whose nearest fire station is within
  T of travel (5, 8, 10 min) on the road state at time t: free-flow link times
  multiplied by the flood factors in force at t (closed links removed).
  Population is spread evenly over the nodes nearest each zone's centre.
  Travel only (no turnout), from station to node over undirected links.
* **Response-time inflation**: background calls are the same in a wet run and
  its dry twin (same seed, no rain: common random numbers); matched on
  ``(t_occur_s, type, node)``, the paired difference of the total response
  ``t_arrival - t_report``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from analysis.metrics import fractile
from analysis.rundir import Run
from sim.log import LIGHT_NOTE

__all__ = [
    "closed_roads",
    "light_closed_at",
    "coverage",
    "flood_headline",
    "flood_metrics_flat",
    "flood_peak_time",
    "flood_points",
    "flooded_road_km_h",
    "link_factors_at",
    "rain_window",
    "response_inflation",
]


def _ev(run: Run, kind: str) -> pd.DataFrame:
    e = run.events
    return e[e["kind"] == kind]


def rain_window(run: Run) -> tuple[float, float]:
    """(rain start, rain end) in s; NaN when the run had no rain."""
    s, e = _ev(run, "rain_start"), _ev(run, "rain_end")
    return (float(s["t_s"].min()) if len(s) else float("nan"), float(e["t_s"].max()) if len(e) else float("nan"))


def _horizon(run: Run) -> float:
    h = _ev(run, "horizon")
    return float(h["t_s"].max()) if len(h) else float(run.events["t_s"].max())


def _link_id(scope: pd.Series) -> np.ndarray:
    return scope.str.rsplit(".", n=1).str[-1].astype(int).to_numpy()


def flooded_road_km_h(run: Run, threshold_m: float = 0.10) -> float:
    """Road length (km) times hours with depth above ``threshold_m`` (see module docstring)."""
    f = _ev(run, "flood")
    if f.empty:
        return 0.0
    length = run.city["links"].set_index("link")["length_m"]
    end = _horizon(run)
    link = _link_id(f["scope"])
    order = np.argsort(link, kind="stable")  # by link, in time order within each
    link, t, d = link[order], f["t_s"].to_numpy(float)[order], f["value"].to_numpy(float)[order]
    starts = np.flatnonzero(np.r_[True, link[1:] != link[:-1]])
    ends = np.r_[starts[1:], len(link)]
    total = 0.0
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        dur = np.diff(np.append(t[a:b], end))
        total += float(length.loc[link[a]]) / 1000.0 * float(dur[d[a:b] > threshold_m].sum()) / 3600.0
    return total


def closed_roads(run: Run, note: str = "flood") -> pd.DataFrame:
    """Number of links closed to units by the flood over time: columns ``t_s, closed``.

    ``note="flood"``: closed to every unit; ``"flood: light vehicles"`` (``sim.log.LIGHT_NOTE``):
    closed to light vehicles (ambulances, utility crews), whether or not the fire service still drives
    there (a road closed to all is closed to them too, and logged under both notes).
    """
    e = run.events
    m = e["kind"].isin(["road_close", "road_open"]) & (e["note"] == note)
    g = e[m]
    if g.empty:
        return pd.DataFrame({"t_s": [0.0], "closed": [0]})
    step = np.where(g["kind"] == "road_close", 1, -1)
    out = pd.DataFrame({"t_s": g["t_s"].to_numpy(float), "closed": np.cumsum(step)})
    return out.groupby("t_s", as_index=False).last()


def flood_points(run: Run, aim_s: float = 7200.0) -> pd.DataFrame:
    """One row per flooding point episode: node, start, clear, peak depth, clear time after rain."""
    _, rain_end = rain_window(run)
    # Each low point's clear times and depths, looked up per episode (not a scan of all events).
    empty = np.zeros(0)
    clears = {s: g["t_s"].to_numpy(float) for s, g in _ev(run, "flood_clear").groupby("scope", sort=False)}
    ponds = {s: (g["t_s"].to_numpy(float), g["value"].to_numpy(float))
             for s, g in _ev(run, "ponding").groupby("scope", sort=False)}
    rows = []
    fp = _ev(run, "flood_point")
    for scope, t0, value in zip(fp["scope"], fp["t_s"].to_numpy(float), fp["value"].to_numpy(float), strict=True):
        c = clears.get(scope, empty)
        c = c[c > t0]
        t1 = float(c.min()) if len(c) else float("nan")
        pt, pv = ponds.get(scope, (empty, empty))
        p = pv[(pt >= t0) & ((pt <= t1) | np.isnan(t1))]
        p = p[~np.isnan(p)]  # a missing depth is skipped, as pandas' max does
        after = max(0.0, t1 - rain_end) if np.isfinite(t1) else float("nan")
        rows.append({"scope": scope, "t_start_s": float(t0), "t_clear_s": t1,
                     "peak_depth_m": float(p.max()) if len(p) else float(value),
                     "clear_after_rain_s": after,
                     "met_aim": bool(np.isfinite(after) and after <= aim_s)})
    return pd.DataFrame(rows, columns=["scope", "t_start_s", "t_clear_s", "peak_depth_m",
                                       "clear_after_rain_s", "met_aim"])


def flood_peak_time(run: Run) -> float:
    """The time the most links are under water (> 0); NaN without a flood. Earliest on ties."""
    f = _ev(run, "flood")
    if f.empty:
        return float("nan")
    state: dict[str, float] = {}
    best_t, best_n = float("nan"), -1
    for t, g in f.groupby("t_s", sort=True):
        for s, v in zip(g["scope"], g["value"], strict=True):
            state[s] = float(v)
        n = sum(1 for v in state.values() if v > 0)
        if n > best_n:
            best_t, best_n = float(t), n
    return best_t


def link_factors_at(run: Run, t_s: float) -> np.ndarray:
    """Travel-time factor of every link at ``t_s`` (``inf`` = closed to units) from the flood events."""
    n = len(run.city["links"])
    fac = np.ones(n)
    e = run.events
    m = (e["t_s"] <= t_s) & (
        (e["kind"] == "road_slow") | (e["kind"].isin(["road_close", "road_open"]) & (e["note"] == "flood"))
    )
    g = e[m]
    for kind, link, v in zip(g["kind"], _link_id(g["scope"]) if len(g) else [], g["value"], strict=True):
        if kind == "road_close":
            fac[link] = np.inf
        elif kind == "road_open":
            fac[link] = 1.0
        else:
            fac[link] = float(v)
    return fac


def light_closed_at(run: Run, t_s: float) -> np.ndarray:
    """Whether each link is closed at ``t_s`` to light vehicles (note ``flood: light vehicles``)."""
    closed = np.zeros(len(run.city["links"]), bool)
    e = run.events
    g = e[(e["t_s"] <= t_s) & e["kind"].isin(["road_close", "road_open"]) & (e["note"] == LIGHT_NOTE)]
    for kind, link in zip(g["kind"], _link_id(g["scope"]) if len(g) else [], strict=True):
        closed[link] = kind == "road_close"
    return closed


def _node_population(run: Run) -> np.ndarray:
    nodes, zones = run.city["nodes"], run.city["zones"]
    x, y = nodes["x_m"].to_numpy(float), nodes["y_m"].to_numpy(float)
    zx, zy = zones["x_m"].to_numpy(float), zones["y_m"].to_numpy(float)
    owner = np.argmin((x[:, None] - zx[None, :]) ** 2 + (y[:, None] - zy[None, :]) ** 2, axis=1)
    counts = np.bincount(owner, minlength=len(zones)).astype(float)
    pop = zones["population"].to_numpy(float)
    return np.asarray(pop[owner] / np.maximum(counts[owner], 1.0))


def coverage(run: Run, t_s: float | None = None, limits_s: tuple[float, ...] = (300.0, 480.0, 600.0)) -> dict[str, float]:
    """Share of population within each limit of driving from its nearest fire station, on the roads at
    ``t_s`` (None: dry). Travel only: GB 51080's 5 minutes run from the dispatch order and include
    the turnout (the station siting uses 5 min less turnout), so this is not that standard's test."""
    links, nodes = run.city["links"], run.city["nodes"]
    n = len(nodes)
    base = links["length_m"].to_numpy(float) / (links["speed_kmh"].to_numpy(float) / 3.6)
    fac = np.ones(len(links)) if t_s is None else link_factors_at(run, t_s)
    w = base * fac
    ok = np.isfinite(w)
    u, v = links["u"].to_numpy(int)[ok], links["v"].to_numpy(int)[ok]
    w = np.maximum(w[ok], 1e-6)
    g = coo_matrix((np.concatenate([w, w]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
    g = g.tocsr()
    st = run.city["stations"]
    fire = st[st["kind"] == "fire"]["node"].to_numpy(int)
    if len(fire) == 0:
        return {f"within_{int(lim)}s": 0.0 for lim in limits_s}
    d = dijkstra(g, indices=fire, min_only=True)
    pop = _node_population(run)
    total = pop.sum() or 1.0
    return {f"within_{int(lim)}s": round(float(pop[d <= lim].sum() / total), 6) for lim in limits_s}


def response_inflation(wet: Run, dry: Run, window: tuple[float, float] | None = None) -> dict[str, Any]:
    """Paired wet-minus-dry total response (s) of the same background calls (see module docstring).

    ``window`` restricts to calls occurring in ``[t0, t1)``.
    """
    cols = ["t_occur_s", "type", "node"]

    def resp(run: Run) -> pd.DataFrame:
        i = run.incidents
        i = i[i["source"] == "background"].copy()
        if window is not None:
            i = i[(i["t_occur_s"] >= window[0]) & (i["t_occur_s"] < window[1])]
        i["response_s"] = i["t_arrival_s"].astype(float) - i["t_report_s"].astype(float)
        return i[[*cols, "response_s"]]

    m = resp(wet).merge(resp(dry), on=cols, suffixes=("_wet", "_dry"))
    m = m.dropna(subset=["response_s_wet", "response_s_dry"])
    diff = (m["response_s_wet"] - m["response_s_dry"]).to_numpy(float)
    if len(diff) == 0:
        return {"n_pairs": 0, "mean_s": None, "median_s": None, "p90_s": None, "max_s": None}
    return {"n_pairs": int(len(diff)), "mean_s": round(float(diff.mean()), 3),
            # nearest-rank, as every fractile of the project (analysis.metrics.fractile): a value a call had
            "median_s": round(fractile(diff, 0.5) or 0.0, 3), "p90_s": round(fractile(diff, 0.9) or 0.0, 3),
            "max_s": round(float(diff.max()), 3),
            "dry_mean_s": round(float(m["response_s_dry"].mean()), 3),
            "wet_mean_s": round(float(m["response_s_wet"].mean()), 3)}


def flood_headline(run: Run, dry: Run | None = None, aim_s: float = 7200.0) -> dict[str, Any]:
    """Flat flood numbers for ``summary.json``."""
    pts = flood_points(run, aim_s)
    closed = closed_roads(run)
    peak_t = flood_peak_time(run)
    rain0, rain1 = rain_window(run)
    inc = run.incidents
    out: dict[str, Any] = {
        "rain_start_s": rain0,
        "rain_end_s": rain1,
        "flooded_road_km_h": round(flooded_road_km_h(run), 3),
        "peak_closed_roads": int(closed["closed"].max()),
        # No light-vehicle closures logged: one class of vehicle (or a folder from before the classes),
        # so light vehicles were shut out exactly where every unit was.
        "peak_closed_roads_light": int((closed_roads(run, LIGHT_NOTE) if (run.events["note"] == LIGHT_NOTE).any()
                                        else closed)["closed"].max()),
        "flood_points": int(len(pts)),
        "flood_points_met_2h_aim": int(pts["met_aim"].sum()) if len(pts) else 0,
        "clear_after_rain_max_s": float(pts["clear_after_rain_s"].max()) if len(pts) else 0.0,
        # nearest-rank; None when no point cleared before the horizon
        "clear_after_rain_median_s": fractile(pts["clear_after_rain_s"], 0.5) if len(pts) else 0.0,
        "vehicles_trapped": int((inc["type"] == "vehicle_trapped").sum()),
        "people_trapped_calls": int((inc["type"] == "people_trapped").sum()),
        "flood_peak_t_s": peak_t,
        "coverage_dry": coverage(run, None),
        "coverage_peak": coverage(run, peak_t) if np.isfinite(peak_t) else coverage(run, None),
    }
    if dry is not None:
        out["response_inflation_all"] = response_inflation(run, dry)
        if np.isfinite(rain0):
            over = _ev(run, "flood_over")
            t1 = float(over["t_s"].min()) if len(over) else _horizon(run)
            out["response_inflation_flood"] = response_inflation(run, dry, (rain0, t1))
    return out


def flood_metrics_flat(flood: dict[str, Any]) -> dict[str, float]:
    """The scalar numbers of :func:`flood_headline`, flattened with a ``flood_`` prefix (for sweeps)."""
    out: dict[str, float] = {}

    def put(prefix: str, d: dict[str, Any]) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                put(f"{prefix}{k}_", v)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[f"{prefix}{k}"] = v
            elif v is None:
                out[f"{prefix}{k}"] = float("nan")

    put("flood_", flood)
    return out
