"""The flood inside a run: water state on a time step, roads, trapped vehicles, pump trucks.

Where this sits: the engine calls :func:`attach` once (before the units start)
when the hazards hold a ``weather.rain`` hyetograph; everything else lives here
so the engine keeps small hooks only. Every ``step_s`` the process advances
the :class:`sim.flood.FloodState` by the rain that fell in the step, then:

* **Roads** (:meth:`FloodProcess.update_roads`): a link is as deep as its
  deeper end (catchment water level above the node's ground); bridges and
  viaducts stay dry, and a ramp takes the depth of its street end. Depth
  rounds to ``depth_step_m``. Below ``emergency_limit_m`` the travel time is
  multiplied by ``1 / speed_share(depth, free speed)`` (Pregnolato et al. 2017
  capped at the link's free speed, floored for high-chassis emergency
  vehicles); at or above it the link closes.
  Units re-route through :class:`sim.roads.RoadState`. Units of
  ``light_kinds`` (ambulances, utility crews) drive on a twin road state
  closed already at ``light_limit_m`` (30 cm; DOMAIN.md 3.1: only special
  rescue vehicles go deeper), logged as ``road_close``/``road_open`` with the
  note ``flood: light vehicles`` (a road closed to all has both notes). When
  a closed road reopens, the queued requests are offered again
  (:meth:`sim.dispatch.Dispatcher.offer_queued`).
* **Flooding points**: a catchment's low point deeper than
  ``flood_point_depth_m`` (10 cm, Nanjing 积淹水点) starts a point and a
  pumping request for a pump truck; it clears when it falls back below.
* **Trapped vehicles**: when an underpass first passes the car limit (30 cm)
  and it is not closed to public traffic, vehicles trapped are Poisson
  (inverse CDF of one uniform from the underpass's own stream
  ``flood.underpass.LINK``); each becomes a ``vehicle_trapped`` rescue call
  with its own stream, so a policy change leaves every other draw in place.
* **People trapped**: when a flooding point first reaches ``people.depth_m``
  (0.5 m), the residents on the nodes that deep make rescue calls, Poisson
  at ``calls_per_1000`` (inverse CDF of one uniform from ``flood.people.PIT``);
  each is a ``people_trapped`` call at the deepest node. Assumptions.
* **Pump trucks** (``pump_truck`` units at fire stations) set up at the
  nearest node of the catchment above its spill level (reachable while the
  pond stands) and lift ``rate_m3_s`` each until the rain is over and the
  point has cleared.
* **Early warning** (``policy.early_warning``): when the forecast peak
  intensity exceeds the threshold, ``lead_s`` before the peak the underpasses
  close to public traffic (emergency units may still use them) and pump
  trucks are sent to the hotspots the forecast ponds deepest.

Underpass drainage pump stations depend on power (component
``drainage.pump.<node>`` in the lifelines graph, unless
``hydrology.pumps_always_on``); a substation whose site floods deeper than its
threshold trips (a ``substation_fault`` incident, the power cascade follows)
and is not re-energised before the water has gone. Formerly:
the hook for the power dependency of a later lifelines issue.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from scenarios.base import Hazard
from sim.city import UnitSpec
from sim.dispatch import Incident, Unit
from sim.flood import FloodState, build_catchments, forecast_peaks, speed_share
from sim.flood_config import EarlyWarningConfig, WaterloggingConfig
from sim.log import LIGHT_NOTE, Record
from sim.roads import RoadState

if TYPE_CHECKING:
    from sim.engine import _World

__all__ = ["FLOOD_TYPES", "FloodProcess", "attach"]

#: Incident types this module creates.
FLOOD_TYPES = ("vehicle_trapped", "people_trapped", "flood_pumping")


class FloodProcess:
    def __init__(self, world: _World, rain: Hazard, cfg: WaterloggingConfig, ew: EarlyWarningConfig,
                 start_hour: float) -> None:
        self.w = world
        self.cfg = cfg
        self.ew = ew
        self.start_hour = start_hour
        self.t0 = float(rain.t_s)
        self.step_s = float(rain.params["step_s"])
        self.rain = np.asarray(rain.params["mm"], dtype=float)
        roads = world.city.roads
        self.elev = roads.elev_m.astype(float)
        self.catch = build_catchments(roads, cfg.hydrology, cfg.storm)
        self.state = FloodState(self.catch, cfg.hydrology)
        self.pumps = np.zeros(self.catch.n)
        self.link_depth = np.zeros(roads.n_links)
        # Bridges and viaducts carry no standing water; a node every link of which is a bridge
        # (on an elevated deck) gives its ramps no depth either: they take the street end's.
        on_street = np.zeros(roads.n_nodes, bool)
        on_street[roads.u[~roads.bridge]] = True
        on_street[roads.v[~roads.bridge]] = True
        self.deck_node = ~on_street
        self.closed = np.zeros(roads.n_links, bool)
        # Light vehicles (roads.light_kinds) drive on a road state of their own, closed at
        # roads.light_limit_m (attach() makes it; None: one class of vehicle).
        self.light: RoadState | None = None
        self.light_closed = np.zeros(roads.n_links, bool)
        self.public_closed = np.zeros(roads.n_links, bool)
        self.trapped_done = np.zeros(roads.n_links, bool)
        self.point_on = np.zeros(self.catch.n, bool)
        self.point_start = np.zeros(self.catch.n)
        self.point_inc: dict[int, Incident] = {}
        self.pit_depth_logged = np.zeros(self.catch.n)
        self.incidents: list[Incident] = []
        self.next_id = 1
        self.rain_over = False
        self.under_links = np.nonzero(roads.underpass)[0]
        self.u_under = {int(i): float(world.streams.fresh(f"flood.underpass.{i}").random())
                        for i in self.under_links}
        self.u_people = [float(world.streams.fresh(f"flood.people.{int(p)}").random()) for p in self.catch.pits]
        self.people_done = np.zeros(self.catch.n, bool)
        self.node_pop = self._node_population()
        self.staging = self._staging_nodes()
        self.units = self._pump_units()
        self.node_depth_now = np.zeros(roads.n_nodes)
        self.drain_scale = np.ones(self.catch.n)  # 0 where a pumped catchment's station has no power
        self.pumped_pits = self._pumped_pits()
        self.sub_tripped: set[str] = set()

    # ------------------------------------------------------- lifeline links
    def _pumped_pits(self) -> dict[int, int]:
        """Catchment -> its low point, for the catchments drained by an underpass pump station."""
        r = self.w.city.roads
        under = np.zeros(r.n_nodes, bool)
        under[r.u[r.underpass]] = True
        under[r.v[r.underpass]] = True
        return {c: int(p) for c, p in enumerate(self.catch.pits) if under[int(p)]}

    def link_power(self) -> None:
        """Put the drainage pump stations into the lifelines graph (rule ``drainage.pump``)."""
        w = self.w
        rules = [r for r in w.policy.cfg.lifelines.dependencies if r.dependent == "drainage.pump" and r.enabled]
        if self.cfg.hydrology.pumps_always_on or not rules or w.city.power is None or not w.city.zones:
            return
        feeder_of = {f.zone: f"power.feeder.{f.id}" for f in w.city.power.feeders}
        g = w.lifelines.graph
        for _c, pit in sorted(self.pumped_pits.items()):
            zone = w.zone_of(pit)
            sup = feeder_of.get(zone)
            if sup is None:
                continue
            comp = f"drainage.pump.{pit}"
            g.needs[comp] = ((sup, rules[0].delay_s),)
            g.dependents[sup] = tuple(sorted((*g.dependents.get(sup, ()), comp)))

    def pump_power(self, pit: int, on: bool) -> None:
        """The lifelines cascade switches an underpass pump station off or on."""
        for c, p in self.pumped_pits.items():
            if p == pit:
                self.drain_scale[c] = 1.0 if on else 0.0

    def check_substations(self) -> None:
        """A substation whose site floods deeper than its threshold trips."""
        w = self.w
        if w.city.power is None:
            return
        for sub in w.city.power.substations:
            comp = f"power.substation.{sub.id}"
            d = float(self.node_depth_now[sub.node])
            if d > sub.flood_threshold_m and comp not in self.sub_tripped and not w.lifelines.is_down(comp):
                self.sub_tripped.add(comp)
                w.flood_trip(comp, sub.node, d)

    def site_wet(self, node: int, threshold: float) -> bool:
        return bool(self.node_depth_now[node] > threshold)

    # ---------------------------------------------------------------- setup
    def _staging_nodes(self) -> np.ndarray:
        """For each catchment, the node nearest its low point whose ground is above its spill level."""
        r = self.w.city.roads
        out = np.empty(self.catch.n, dtype=np.int64)
        for c in range(self.catch.n):
            pit = int(self.catch.pits[c])
            ok = np.nonzero(self.elev >= self.catch.spill_z[c])[0]
            if len(ok) == 0:
                out[c] = pit
                continue
            d2 = (r.x_m[ok] - r.x_m[pit]) ** 2 + (r.y_m[ok] - r.y_m[pit]) ** 2
            out[c] = int(ok[np.argmin(d2)])
        return out

    def _node_population(self) -> np.ndarray:
        """Zone population spread evenly over the nodes nearest each zone's centre."""
        r, zones = self.w.city.roads, self.w.city.zones
        if not zones:
            return np.zeros(r.n_nodes)
        zx = np.array([z.x_m for z in zones])
        zy = np.array([z.y_m for z in zones])
        owner = np.argmin((r.x_m[:, None] - zx[None, :]) ** 2 + (r.y_m[:, None] - zy[None, :]) ** 2, axis=1)
        counts = np.bincount(owner, minlength=len(zones)).astype(float)
        pop = np.array([z.population for z in zones], dtype=float)
        return np.asarray(pop[owner] / np.maximum(counts[owner], 1.0))

    def _pump_units(self) -> list[Unit]:
        fire = sorted((s for s in self.w.city.stations if s.kind == "fire"), key=lambda s: s.id)
        if not fire:
            fire = sorted(self.w.city.stations, key=lambda s: s.id)
        units = []
        for k in range(self.cfg.pumps.count if fire else 0):
            st = fire[k % len(fire)]
            spec = UnitSpec(id=f"{st.id}.PT{k // len(fire) + 1}", kind="pump_truck", station=st.id)
            units.append(Unit(spec=spec, home=st.node, turnout_s=self.cfg.pumps.turnout_s))
        return units

    # ------------------------------------------------------------ incidents
    def new_incident(self, typ: str, node: int, scope: str, severity: int, key: str,
                     card: dict[str, int]) -> Incident:
        w = self.w
        inc = w.spawn(typ, node, scope, "flood", f"incident.flood.{key}", severity=severity, card=dict(card))
        self.incidents.append(inc)
        return inc

    def request_pump(self, c: int, why: str) -> None:
        if c in self.point_inc or not self.units:
            return
        pit = int(self.catch.pits[c])
        sev = self.cfg.pumps.severity - (1 if self.w.city.roads.underpass[self._links_at(pit)].any() else 0)
        inc = self.new_incident("flood_pumping", int(self.staging[c]), f"roads.node.{pit}", max(sev, 1),
                                f"pump.{pit}", {"pump_truck": 1})
        inc.extra["catchment"] = c
        inc.extra["why"] = why
        self.point_inc[c] = inc

    def _links_at(self, node: int) -> np.ndarray:
        r = self.w.city.roads
        return np.nonzero((r.u == node) | (r.v == node))[0]

    def work(self, inc: Incident) -> Generator[simpy.Event, Any, None]:
        """On scene: a trapped-vehicle rescue takes its time; a pump truck pumps until the point clears."""
        env = self.w.env
        if inc.type in ("vehicle_trapped", "people_trapped"):
            t = self.cfg.trapped.on_scene_s if inc.type == "vehicle_trapped" else self.cfg.people.on_scene_s
            if t > 0:
                yield env.timeout(t)
            return
        c = int(inc.extra["catchment"])
        thr = self.cfg.hydrology.flood_point_depth_m
        while True:
            rate = self.cfg.pumps.rate_m3_s * max(inc.n_units, 1)
            self.pumps[c] += rate
            yield env.timeout(self.step_s)
            self.pumps[c] -= rate
            if self.rain_over and self.state.pit_depth()[c] < thr:
                break
        self.point_inc.pop(c, None)

    # -------------------------------------------------------------- process
    def run(self) -> Generator[simpy.Event, Any, None]:
        env = self.w.env
        if self.t0 > env.now:
            yield env.timeout(self.t0 - env.now)
        self.w.record(Record(env.now, "rain_start", "weather.rain", None, float(self.rain.sum()),
                             f"steps={len(self.rain)} step_s={self.step_s:g}"))
        k = 0
        while True:
            r = float(self.rain[k]) if k < len(self.rain) else 0.0
            yield env.timeout(self.step_s)
            self.state.step(r, self.step_s, self.pumps, self.drain_scale)
            k += 1
            if k == len(self.rain):
                self.rain_over = True
                self.w.record(Record(env.now, "rain_end", "weather.rain", None, round(self.state.rain_cum_mm, 3)))
            self.update_points()
            self.update_roads()
            if self.rain_over and not self.state.stored.any() and not self.point_inc:
                self.w.record(Record(env.now, "flood_over", "weather.rain", None,
                                     round(float(self.state.overflow_m3.sum()), 1)))
                return

    def early_warning(self) -> Generator[simpy.Event, Any, None]:
        env, ew = self.w.env, self.ew
        peak_mm_h = float(self.rain.max()) * 3600.0 / self.step_s if len(self.rain) else 0.0
        if peak_mm_h <= ew.threshold_mm_h:
            return
        t_peak = self.t0 + float(np.argmax(self.rain)) * self.step_s
        t_warn = max(t_peak - ew.lead_s, env.now)
        yield env.timeout(t_warn - env.now)
        self.w.record(Record(env.now, "warning", "weather.rain", None, round(peak_mm_h, 3),
                             "early warning: forecast peak intensity mm/h"))
        if ew.close_underpasses:
            for i in self.under_links:
                self.public_closed[i] = True
                self.w.record(Record(env.now, "road_close", f"roads.link.{i}", None, None,
                                     "early warning: closed to public traffic"))
        if ew.preposition_pumps and self.units:
            extra = int(np.ceil(3600.0 / self.step_s))
            peaks = forecast_peaks(self.catch, self.cfg.hydrology, self.rain, extra)
            order = np.lexsort((np.arange(self.catch.n), -peaks))
            hot = [int(c) for c in order[: len(self.units)] if peaks[c] > self.cfg.hydrology.flood_point_depth_m]
            for c in hot:
                self.request_pump(c, "early warning")

    def update_points(self) -> None:
        env = self.w.env
        depth = self.state.pit_depth()
        thr = self.cfg.hydrology.flood_point_depth_m
        step = self.cfg.roads.depth_step_m
        for c in range(self.catch.n):
            pit = int(self.catch.pits[c])
            dq = round(float(depth[c]) / step) * step
            if abs(dq - self.pit_depth_logged[c]) >= step / 2:
                self.pit_depth_logged[c] = dq
                self.w.record(Record(env.now, "ponding", f"roads.node.{pit}", None, round(dq, 4)))
            if not self.point_on[c] and depth[c] > thr:
                self.point_on[c] = True
                self.point_start[c] = env.now
                self.w.record(Record(env.now, "flood_point", f"roads.node.{pit}", None, round(float(depth[c]), 4)))
                self.request_pump(c, "flooding point")
            if not self.people_done[c] and depth[c] >= self.cfg.people.depth_m:
                self.people_done[c] = True
                self.trap_people(c)
            elif self.point_on[c] and depth[c] <= thr:
                self.point_on[c] = False
                self.w.record(Record(env.now, "flood_clear", f"roads.node.{pit}", None,
                                     round(env.now - float(self.point_start[c]), 3)))

    def update_roads(self) -> None:
        env, rc = self.w.env, self.cfg.roads
        r = self.w.city.roads
        nd = self.state.node_depth(self.elev)
        self.node_depth_now = nd
        self.check_substations()
        on_ground = np.where(self.deck_node, 0.0, nd)  # a viaduct's nodes stand above the water
        depth = np.where(r.bridge, 0.0, np.maximum(on_ground[r.u], on_ground[r.v]))
        depth = np.round(depth / rc.depth_step_m) * rc.depth_step_m
        changed = np.nonzero(np.abs(depth - self.link_depth) >= rc.depth_step_m / 2)[0]
        # The slow-down factor of every changed link at once (Pregnolato's curve, vectorised).
        wet = depth[changed]
        factors = np.where(wet > 0, 1.0 / speed_share(wet, r.speed_kmh[changed], rc.min_speed_share),
                           1.0).tolist()
        reopened = reopened_light = False
        # The flood's own layer of the road state: other causes (a main repair,
        # dark signals) keep theirs (RoadState.set_cause). Each class of vehicle
        # has its own flood layer (own=True). Set for every changed link at once
        # after the loop (nothing in it asks the roads).
        heavy: tuple[list[int], list[float | None]] = ([], [])
        light: tuple[list[int], list[float | None]] = ([], [])
        for i, d, factor in zip(changed.tolist(), wet.tolist(), factors, strict=True):
            self.link_depth[i] = d
            scope = f"roads.link.{i}"
            self.w.record(Record(env.now, "flood", scope, None, round(d, 4)))
            if self.light is not None:
                reopened_light |= self.update_light(i, d, factor, light)
            if d >= rc.emergency_limit_m:
                if not self.closed[i]:
                    self.closed[i] = True
                    heavy[0].append(i)
                    heavy[1].append(np.inf)
                    self.w.record(Record(env.now, "road_close", scope, None, round(d, 4), "flood"))
                continue
            was_closed = bool(self.closed[i])
            if was_closed:
                self.closed[i] = False
                reopened = True
                self.w.record(Record(env.now, "road_open", scope, None, round(d, 4), "flood"))
            now = 1.0 if was_closed else self.w.roads.cause_factor("flood", i)  # reopening clears the closure
            if was_closed or now != factor:
                heavy[0].append(i)
                heavy[1].append(None if factor == 1.0 else factor)
            if now != factor:
                self.w.record(Record(env.now, "road_slow", scope, None, round(factor, 4), f"depth_m={d:.2f}"))
            if r.underpass[i] and d >= rc.car_limit_m and not self.trapped_done[i]:
                self.trap(i)
        self.w.roads.set_causes("flood", *heavy, own=True)
        if self.light is not None:
            self.light.set_causes("flood", *light, own=True)
        if reopened or reopened_light:  # a scene cut off by the water may be in reach again
            disp = self.w.dispatcher  # only the kinds whose roads reopened
            disp.offer_queued([k for k in disp.queues if (reopened and disp.roads_for(k) is self.w.roads)
                               or (reopened_light and disp.roads_for(k) is self.light)])
        for jj in np.nonzero(self.closed & r.underpass & ~self.trapped_done)[0]:
            self.trap(int(jj))
        if self.rain_over:
            for jj in np.nonzero(self.public_closed & (self.link_depth == 0))[0]:
                self.public_closed[jj] = False
                self.w.record(Record(env.now, "road_open", f"roads.link.{int(jj)}", None, 0.0,
                                     "early warning: reopened to public traffic"))

    def update_light(self, i: int, d: float, factor: float, out: tuple[list[int], list[float | None]]) -> bool:
        """Link ``i`` at depth ``d`` for light vehicles: closed from ``light_limit_m``, else slowed as the
        others. Appends the link's new flood factor to ``out`` (set by the caller). Returns whether it
        reopened."""
        assert self.light is not None
        scope = f"roads.link.{i}"
        if d >= self.cfg.roads.light_limit_m:
            if not self.light_closed[i]:
                self.light_closed[i] = True
                out[0].append(i)
                out[1].append(np.inf)
                self.w.record(Record(self.w.env.now, "road_close", scope, None, round(d, 4), LIGHT_NOTE))
            return False
        reopened = bool(self.light_closed[i])
        if reopened:
            self.light_closed[i] = False
            self.w.record(Record(self.w.env.now, "road_open", scope, None, round(d, 4), LIGHT_NOTE))
        out[0].append(i)
        out[1].append(None if factor == 1.0 else factor)
        return reopened

    def trap_people(self, c: int) -> None:
        """Rescue calls from residents around catchment ``c``'s low point (see module docstring)."""
        pe = self.cfg.people
        pit = int(self.catch.pits[c])
        for j in range(_people_calls(self, c)):
            self.new_incident("people_trapped", pit, f"roads.node.{pit}", pe.severity, f"people.{pit}.{j}",
                              pe.run_card)

    def trap(self, link: int) -> None:
        """Vehicles caught in underpass ``link`` as it passes the car limit (none if closed beforehand)."""
        self.trapped_done[link] = True
        if self.public_closed[link]:
            return
        t = self.cfg.trapped
        hour = int((self.start_hour + self.w.env.now / 3600.0) // 1) % 24
        lam = t.vehicles_per_h * t.hourly_share[hour] * t.exposure_h
        n = int(_poisson_ppf(self.u_under[link], lam)) if lam > 0 else 0
        r = self.w.city.roads
        node = int(r.u[link]) if self.elev[r.u[link]] <= self.elev[r.v[link]] else int(r.v[link])
        for j in range(n):
            self.new_incident("vehicle_trapped", node, f"roads.link.{link}", t.severity,
                              f"trapped.{link}.{j}", t.run_card)


def _people_calls(fp: FloodProcess, c: int) -> int:
    pe = fp.cfg.people
    deep = (fp.catch.of_node == c) & (fp.state.node_depth(fp.elev) >= pe.depth_m)
    lam = pe.calls_per_1000 * float(fp.node_pop[deep].sum()) / 1000.0
    return int(_poisson_ppf(fp.u_people[c], lam)) if lam > 0 else 0


def attach(world: _World, hazards: list[Hazard], cfg: WaterloggingConfig | None, ew: EarlyWarningConfig | None,
           start_hour: float) -> FloodProcess | None:
    """Wire the flood into ``world`` if the hazards hold rain; adds the pump-truck units."""
    rain = [h for h in hazards if h.kind == "weather.rain"]
    if not rain or cfg is None:
        return None
    fp = FloodProcess(world, rain[0], cfg, ew or EarlyWarningConfig(), start_hour)
    if cfg.roads.light_limit_m < cfg.roads.emergency_limit_m and cfg.roads.light_kinds:
        fp.light = world.roads.twin()
        world.dispatcher.use_roads(cfg.roads.light_kinds, fp.light)
    world.units.extend(fp.units)
    world.dispatcher.add_units(fp.units)
    fp.link_power()
    return fp


def _poisson_ppf(u: float, lam: float) -> float:
    """The Poisson(``lam``) quantile at ``u`` (scipy.stats is imported here, when a flood first traps
    anyone: it adds about 0.25 s to the imports of every run otherwise)."""
    from scipy.stats import poisson

    return float(poisson.ppf(u, lam))
