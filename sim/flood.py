"""Rain and coarse urban hydrology: pure functions and a small state object, no SimPy.

Where this sits: the waterlogging scenario (:mod:`scenarios.waterlogging`)
turns a storm config into a hyetograph (rain per model step); the engine's
flood process (:mod:`sim.flood_process`) advances a :class:`FloodState` on
that step and turns depths into road slow-downs and closures.

Models, coarse by design (not a 2-D flood model):

* **Design storm**: Chicago hyetograph (Keifer & Chu 1957) from the Chinese
  IDF form ``i = A1 (1 + C lg P) / (t + b)^n`` (mm/min, t in min). The depth
  within any window of duration T around the peak equals the IDF depth
  ``F(T) = i(T) T``; the cumulative rain at time t is therefore
  ``r F(t_d) - r F((t_p - t)/r)`` before the peak ``t_p = r t_d`` and
  ``r F(t_d) + (1-r) F((t - t_p)/(1-r))`` after it (DOMAIN.md 3.3), so the
  depth of each step is an exact difference of cumulative depths.
* **Measured rain**: a CSV ``t_s,mm`` (mm in the interval ending at t_s),
  resampled onto the model step by linear interpolation of the cumulative curve.
* **Catchments**: each road node drains by steepest descent along its links
  to a neighbour; a node with no lower neighbour is a low point (pit) and the
  nodes draining to it are its catchment. Each node stands for an equal share
  of the district's bounding box (runoff area); for storage, underpass ends
  stand for a narrow trough (``underpass_area_m2``).
* **Runoff**: SCS curve number on the cumulative rain,
  ``Q = (P - 0.2 S)^2 / (P + 0.8 S)``, ``S = 25400/CN - 254`` mm (DOMAIN.md 3.2);
  the rest of the rain is the loss (initial abstraction and infiltration).
* **Drainage**: the sewers of a catchment take up to the rational-method
  design flow ``Q_cap = psi * i(P_d, t_c) * A`` with the time of
  concentration ``t_c = t_inlet + sqrt(A) / v_pipe`` (P_d: design return period,
  GB 50014 3-5 a for central districts; a catchment whose low point is an
  underpass drains by the underpass's pump station, designed for 30-50 a;
  DOMAIN.md 3.4). Those underpass pump stations need power: while the
  feeder of their zone is down (the lifelines cascade, component
  ``drainage.pump.<node>``) the catchment drains nothing. Other catchments
  drain by gravity. ``pumps_always_on`` switches the dependency off.
* **Ponding**: runoff beyond the drainage is stored at the low points. The
  stage-volume relation of a catchment is ``V(z) = sum_k a_k max(0, z - e_k)``
  over its nodes (plan area a_k, ground elevation e_k): a water level z
  floods every node below it. Water above the catchment's spill level (the
  lowest crossing into another catchment) leaves as overflow (not routed on:
  a documented simplification). After the rain the drainage keeps running at
  capacity, so the ponds recede.
* **Mass balance** per catchment: rain = loss + drained + pumped + stored + overflow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.city import Roads
from sim.flood_config import HydrologyConfig, StormConfig

__all__ = [
    "Catchments",
    "FloodState",
    "build_catchments",
    "chicago_depths",
    "forecast_peaks",
    "hyetograph",
    "idf_mm_min",
    "pregnolato_kmh",
    "read_rain_csv",
    "scs_runoff_mm",
    "speed_share",
]


# -------------------------------------------------------------------- rain
def idf_mm_min(storm: StormConfig, t_min: float | np.ndarray, return_period_yr: float | None = None) -> np.ndarray:
    """Mean intensity (mm/min) over a duration ``t_min``: ``A1 (1 + C lg P) / (t + b)^n``."""
    p = storm.return_period_yr if return_period_yr is None else return_period_yr
    a = storm.idf_a1_mm_min * (1.0 + storm.idf_c * math.log10(p))
    return np.asarray(a / (np.asarray(t_min, dtype=float) + storm.idf_b_min) ** storm.idf_n)


def chicago_depths(storm: StormConfig, step_s: float) -> np.ndarray:
    """Rain (mm) in each model step of a Chicago storm of ``storm.duration_min``.

    The last step may be partial. The depths add up to ``F(t_d) = i(t_d) t_d``.
    """
    td = storm.duration_min
    r = storm.peak_ratio
    tp = r * td

    def f(t: np.ndarray) -> np.ndarray:  # IDF depth in a window of t min
        return idf_mm_min(storm, t) * t

    def cum(t: np.ndarray) -> np.ndarray:
        t = np.clip(t, 0.0, td)
        out = np.empty_like(t)
        before = t <= tp
        if r > 0:
            out[before] = r * (f(np.array(td)) - f((tp - t[before]) / r))
        else:
            out[before] = 0.0
        after = ~before
        if r < 1:
            out[after] = r * f(np.array(td)) + (1 - r) * f((t[after] - tp) / (1 - r))
        else:
            out[after] = f(np.array(td))
        return out

    n = int(math.ceil(td * 60.0 / step_s - 1e-9))
    edges = np.minimum(np.arange(n + 1) * step_s / 60.0, td)
    return np.maximum(np.diff(cum(edges)), 0.0)


def read_rain_csv(path: str | Path, step_s: float) -> np.ndarray:
    """Rain (mm) per model step from a CSV of ``t_s,mm`` rows; errors name the line.

    Each row gives the rain that fell in the interval ending at ``t_s`` (the
    first interval starts at 0). A header line is allowed. Times must increase.
    """
    from sim.config import ConfigError

    key = "scenario.waterlogging.storm.csv_file"
    path = Path(path).expanduser()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ConfigError(key, f"{path}: {exc.strerror or exc}") from None
    times, mm = [0.0], [0.0]
    for no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = [p.strip() for p in text.split(",")]
        if no == 1 and parts and parts[0].lower() in ("t_s", "time", "time_s"):
            continue
        if len(parts) != 2:
            raise ConfigError(key, f"{path}:{no}: expected 2 fields 't_s,mm', got {len(parts)}: {text!r}")
        try:
            t, d = float(parts[0]), float(parts[1])
        except ValueError:
            raise ConfigError(key, f"{path}:{no}: not a number: {text!r}") from None
        if not (math.isfinite(t) and math.isfinite(d)):
            raise ConfigError(key, f"{path}:{no}: values must be finite: {text!r}")
        if d < 0:
            raise ConfigError(key, f"{path}:{no}: rain must be >= 0 mm (got {d})")
        if t <= times[-1]:
            raise ConfigError(key, f"{path}:{no}: t_s must increase (got {t} after {times[-1]})")
        times.append(t)
        mm.append(d)
    if len(times) < 2:
        raise ConfigError(key, f"{path}: no rain rows")
    cum = np.cumsum(mm)
    n = int(math.ceil(times[-1] / step_s - 1e-9))
    edges = np.arange(n + 1) * step_s
    return np.maximum(np.diff(np.interp(edges, times, cum)), 0.0)


def hyetograph(storm: StormConfig, step_s: float) -> np.ndarray:
    """Rain (mm) per model step from the storm's start, by ``storm.kind``."""
    if storm.kind == "csv":
        assert storm.csv_file is not None
        return read_rain_csv(storm.csv_file, step_s)
    return chicago_depths(storm, step_s)


# ---------------------------------------------------------------- runoff
def scs_runoff_mm(p_mm: np.ndarray | float, curve_number: float) -> np.ndarray:
    """SCS curve-number runoff depth for cumulative rain ``p_mm`` (Ia = 0.2 S)."""
    p = np.asarray(p_mm, dtype=float)
    s = 25400.0 / curve_number - 254.0
    ia = 0.2 * s
    return np.where(p > ia, (p - ia) ** 2 / np.maximum(p + 0.8 * s, 1e-12), 0.0)


# ------------------------------------------------------------ catchments
@dataclass(frozen=True, eq=False)
class Catchments:
    """Catchments of the road nodes (index ``c`` = position in ``pits``)."""

    pits: np.ndarray  # (k,) low-point node of each catchment
    of_node: np.ndarray  # (n,) catchment index of each node
    area_m2: np.ndarray  # (k,) runoff area
    capacity_m3_s: np.ndarray  # (k,) drainage capacity
    spill_z: np.ndarray  # (k,) water level at which it overflows
    # Stage-volume tables: per catchment, sorted node elevations and the
    # volume stored when the level reaches each of them.
    levels: list[np.ndarray] = field(default_factory=list)
    volumes: list[np.ndarray] = field(default_factory=list)
    areas: list[np.ndarray] = field(default_factory=list)  # cumulative plan area below each level

    @property
    def n(self) -> int:
        return int(self.pits.shape[0])

    def volume_at(self, c: int, z: float) -> float:
        lv, vol, ar = self.levels[c], self.volumes[c], self.areas[c]
        k = int(np.searchsorted(lv, z, side="right")) - 1
        if k < 0:
            return 0.0
        return float(vol[k] + ar[k] * (z - lv[k]))

    def level_of(self, c: int, v: float) -> float:
        """Water level (m) that stores volume ``v`` in catchment ``c`` (inverse of :meth:`volume_at`)."""
        lv, vol, ar = self.levels[c], self.volumes[c], self.areas[c]
        if v <= 0:
            return float(lv[0])
        k = int(np.searchsorted(vol, v, side="right")) - 1
        return float(lv[k] + (v - vol[k]) / ar[k])


def _underpass_nodes(roads: Roads) -> np.ndarray:
    mask = np.zeros(roads.n_nodes, bool)
    mask[roads.u[roads.underpass]] = True
    mask[roads.v[roads.underpass]] = True
    return mask


def build_catchments(roads: Roads, hyd: HydrologyConfig, storm: StormConfig) -> Catchments:
    """Steepest-descent catchments, their drainage capacity and stage-volume tables."""
    n = roads.n_nodes
    e = roads.elev_m.astype(float)
    u, v = roads.u.astype(np.int64), roads.v.astype(np.int64)
    length = np.maximum(roads.length_m.astype(float), 1e-6)
    # Steepest descent: for each node the neighbour with the largest drop per metre.
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    slope = (e[src] - e[dst]) / np.concatenate([length, length])
    order = np.lexsort((dst, -slope, src))  # by node, steepest first, ties by lower index
    src_o, dst_o, slope_o = src[order], dst[order], slope[order]
    first = np.ones(len(src_o), bool)
    first[1:] = src_o[1:] != src_o[:-1]
    recv = np.arange(n)
    sel = first & (slope_o > 0)
    recv[src_o[sel]] = dst_o[sel]
    root = recv.copy()
    for _ in range(n):
        nxt = root[root]
        if np.array_equal(nxt, root):
            break
        root = nxt
    pits = np.unique(root)
    index = -np.ones(n, dtype=np.int64)
    index[pits] = np.arange(len(pits))
    of_node = index[root]
    width = float(np.ptp(roads.x_m)) or 1.0
    height = float(np.ptp(roads.y_m)) or 1.0
    cell = width * height / n
    area = np.bincount(of_node, minlength=len(pits)) * cell
    under = _underpass_nodes(roads)
    store = np.full(n, cell)
    store[under] = hyd.underpass_area_m2
    t_c = hyd.concentration_min + np.sqrt(area) / hyd.pipe_velocity_m_s / 60.0
    i_design = np.where(
        under[pits],
        idf_mm_min(storm, t_c, hyd.underpass_design_return_period_yr),
        idf_mm_min(storm, t_c, hyd.design_return_period_yr),
    )
    capacity = hyd.runoff_coefficient * i_design / 1000.0 / 60.0 * area  # m³/s
    spill = np.full(len(pits), np.inf)
    cross = of_node[u] != of_node[v]
    top = np.maximum(e[u], e[v])
    for side in (u, v):
        np.minimum.at(spill, of_node[side[cross]], top[cross])
    levels, volumes, areas = [], [], []
    for c in range(len(pits)):
        nodes = np.nonzero(of_node == c)[0]
        ordr = np.argsort(e[nodes], kind="stable")
        lv = e[nodes][ordr]
        ar = np.cumsum(store[nodes][ordr])
        vol = np.concatenate([[0.0], np.cumsum(ar[:-1] * np.diff(lv))])
        if not np.isfinite(spill[c]):
            spill[c] = lv[-1]
        levels.append(lv)
        volumes.append(vol)
        areas.append(ar)
    return Catchments(pits=pits, of_node=of_node, area_m2=area, capacity_m3_s=capacity, spill_z=spill,
                      levels=levels, volumes=volumes, areas=areas)


# ------------------------------------------------------------------ state
class FloodState:
    """Stored water per catchment, advanced one step at a time; every flow is totalled.

    ``step`` order within a step: runoff enters, the sewers drain up to their
    capacity, pump trucks lift up to their rate, water above the spill level
    overflows. Totals (m³, per catchment) make the mass balance checkable.
    """

    def __init__(self, catch: Catchments, hyd: HydrologyConfig) -> None:
        self.c = catch
        self.hyd = hyd
        k = catch.n
        self.stored = np.zeros(k)
        self.rain_cum_mm = 0.0
        self.spill_v = np.array([catch.volume_at(i, float(catch.spill_z[i])) for i in range(k)])
        self.rain_m3 = np.zeros(k)
        self.loss_m3 = np.zeros(k)
        self.drained_m3 = np.zeros(k)
        self.pumped_m3 = np.zeros(k)
        self.overflow_m3 = np.zeros(k)
        self._floor = np.array([float(catch.levels[i][0]) for i in range(k)])
        self._z = self._floor.copy()

    def step(self, rain_mm: float, dt_s: float, pump_m3_s: np.ndarray | None = None,
             capacity_scale: np.ndarray | None = None) -> None:
        """Advance by ``dt_s``; ``capacity_scale`` (0..1 per catchment) cuts the drainage
        of catchments whose pump station has lost power."""
        c = self.c
        q0 = float(scs_runoff_mm(self.rain_cum_mm, self.hyd.curve_number))
        self.rain_cum_mm += rain_mm
        q1 = float(scs_runoff_mm(self.rain_cum_mm, self.hyd.curve_number))
        runoff = (q1 - q0) / 1000.0 * c.area_m2
        rain = rain_mm / 1000.0 * c.area_m2
        self.rain_m3 += rain
        self.loss_m3 += rain - runoff
        v = self.stored + runoff
        cap = c.capacity_m3_s if capacity_scale is None else c.capacity_m3_s * capacity_scale
        drained = np.minimum(v, cap * dt_s)
        v = v - drained
        pumped = np.zeros_like(v) if pump_m3_s is None else np.minimum(v, pump_m3_s * dt_s)
        v = v - pumped
        over = np.maximum(v - self.spill_v, 0.0)
        v = v - over
        self.drained_m3 += drained
        self.pumped_m3 += pumped
        self.overflow_m3 += over
        self.stored = v
        self._z = np.array([c.level_of(i, float(v[i])) for i in range(c.n)])

    @property
    def level_m(self) -> np.ndarray:
        """Water level of each catchment (its pit's elevation when dry)."""
        return self._z

    def pit_depth(self) -> np.ndarray:
        """Depth (m) at each catchment's low point."""
        return np.maximum(self._z - self._floor, 0.0)

    def node_depth(self, elev_m: np.ndarray) -> np.ndarray:
        """Depth (m) at every road node: the catchment's level above the node's ground."""
        return np.maximum(self._z[self.c.of_node] - elev_m, 0.0)


def forecast_peaks(catch: Catchments, hyd: HydrologyConfig, rain_mm: np.ndarray, extra_steps: int = 0) -> np.ndarray:
    """Peak depth (m) at each catchment's low point for a hyetograph, without pump trucks."""
    st = FloodState(catch, hyd)
    peak = np.zeros(catch.n)
    for r in np.concatenate([rain_mm, np.zeros(extra_steps)]):
        st.step(float(r), hyd.step_s)
        peak = np.maximum(peak, st.pit_depth())
    return peak


# ------------------------------------------------------------- roads
def pregnolato_kmh(depth_m: np.ndarray | float) -> np.ndarray:
    """Pregnolato et al. (2017) speed in standing water: ``0.0009 w² - 0.5529 w + 86.9448`` km/h, w in mm.

    Coefficients as widely quoted [K] (DOMAIN.md 3.1); 0 at w >= 300 mm.
    """
    w = np.asarray(depth_m, dtype=float) * 1000.0
    v = 0.0009 * w**2 - 0.5529 * w + 86.9448
    return np.where(w >= 300.0, 0.0, np.maximum(v, 0.0))


def speed_share(depth_m: np.ndarray | float, free_kmh: np.ndarray | float, min_share: float) -> np.ndarray:
    """Speed in water as a share of the link's free speed, ``min(v(w), v_free) / v_free``, floored at
    ``min_share`` (high-chassis emergency vehicles keep crawling).

    Pregnolato et al. (2017) give the highest safe speed through ``w`` of water
    (:func:`pregnolato_kmh`); a street slower than that when dry is not slowed
    further (DOMAIN.md 3.1: the curve capped at the free speed), so 25 mm of water
    slows an expressway but not a 25 km/h side street.
    """
    free = np.asarray(free_kmh, dtype=float)
    return np.maximum(np.minimum(pregnolato_kmh(depth_m), free) / free, min_share)
