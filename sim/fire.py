"""Fire and smoke in a high-rise, and who gets out: a coarse, pure model.

No SimPy here. The engine (:mod:`sim.fire_response`) draws a :class:`FireSetup`
at ignition, asks for the untenability time of every floor, and, once first
water is known, for the :class:`Outcome` (people exposed, expected
casualties). Times are seconds after ignition. Sources in DOMAIN.md §4.4;
every parameter is in :class:`sim.fire_config.FireResponseConfig`, and the
ones marked there as assumptions are modelling choices.

The model, deliberately coarse (a planning and training tool, not a CFD or
egress model):

* **Growth.** After a venting delay ``t_v`` a battery fire grows as an
  ultrafast t² fire, ``Q(t) = alpha (t - t_v)^2`` (NFPA 204/72), capped at
  ~1 MW per bike (Chen et al. 2005); a parked cluster in ground-floor
  parking involves several bikes. Sprinklers that work cap the fire lower.
* **Origin untenable** when ``Q`` reaches ``untenable_kw``; never if the cap
  is below it.
* **Smoke spread.** From a corridor or the parking (or a flat whose door is
  open) smoke rises through the stair, or, faster, through a light/vent shaft
  (stack effect, the 2·23 fire): floor ``f`` above the origin floor ``o`` is
  untenable at ``T_o + (f - o) h / v + fill``; shaft smoke banks in the top
  ``shaft_affected_share`` of the floors (2·23: floors 21-34 of 34). Floors below the origin stay
  tenable. A flat fire behind a closed door endangers only that flat.
  Spread stops ``knockdown_s`` after first water.
* **Detection.** A smoke alarm works with a probability and detects
  ``alarm_detect_s`` after flaming; otherwise someone discovers the fire
  (lognormal around ``discovery_median_s``). The call follows a lognormal delay.
* **Occupants** live evenly over the floors (households x household size x
  share at home by time of day). A share shelters behind closed doors;
  the rest start down the stair ``premovement`` after detection at
  ``stair_speed_m_s`` along ``stair_m_per_floor`` per storey.
* **Exposure and casualties.** An evacuee who meets untenable conditions
  (on their own floor when they set out, or lower on the stair) is exposed
  for one storey's walk in smoke at a reduced speed, turns back and shelters
  (the advice drawn from the Hainan test, DOMAIN.md 4.4). A sheltering household is exposed only if its door fails
  (probability by spread route) and then until rescue (first water plus a
  search time per floor). The probability of death for an exposure of
  ``t`` seconds is ``1 - exp(-t / fatal_tau_s)``. Exposed counts and
  casualties are expectations (fractional people).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from sim.fire_config import FireResponseConfig

__all__ = [
    "FireSetup",
    "Outcome",
    "draw_setup",
    "first_water_after",
    "hrr_kw",
    "occupants_per_floor",
    "outcome",
    "time_to_hrr",
    "untenable_times",
]


@dataclass(frozen=True)
class FireSetup:
    """Everything decided at ignition (from the incident's own uniforms)."""

    floors: int
    households: int
    location: str  # flat | corridor | parking
    floor: int  # origin floor (1 = ground)
    route: str  # stair | shaft | none (a flat fire behind a closed door)
    cap_kw: float  # growth cap (bikes involved, or sprinklers)
    alarm_works: bool
    t_detect_s: float  # after ignition
    t_report_s: float  # after ignition: the call reaches dispatch
    t_evac_s: float  # after ignition: evacuees start moving
    hour: float  # clock hour of ignition (occupancy)
    no_water: bool  # the building's fire-water system is dry


@dataclass(frozen=True)
class Outcome:
    occupants: float
    exposed: float
    casualties: float
    floors_untenable: int


def hrr_kw(t: float, r: FireResponseConfig, cap_kw: float) -> float:
    """Heat release rate at ``t`` s after ignition: ``min(alpha (t - t_v)^2, cap)``."""
    dt = max(t - r.vent_delay_s, 0.0)
    return float(min(r.alpha_kw_s2 * dt * dt, cap_kw))


def time_to_hrr(q_kw: float, r: FireResponseConfig, cap_kw: float) -> float:
    """First time the fire reaches ``q_kw`` (inf if the cap is below it)."""
    if q_kw > cap_kw:
        return math.inf
    return float(r.vent_delay_s + math.sqrt(q_kw / r.alpha_kw_s2))


def _lognormal(median: float, sigma: float, u: float) -> float:
    return float(median * math.exp(sigma * float(ndtri(min(max(u, 1e-12), 1 - 1e-12)))))


def draw_setup(
    r: FireResponseConfig,
    *,
    floors: int,
    households: int,
    location: str,
    floor: int,
    shaft: bool,
    hour: float,
    u: np.ndarray,
    sprinklers: bool = False,
    alarm_maintenance: bool = False,
    pressure_monitoring: bool = False,
    alarm_works: bool | None = None,
    report_after_s: float | None = None,
) -> FireSetup:
    """The ignition-time draws, from 6 uniforms ``u`` used in a fixed order.

    u[0] alarm works, u[1] discovery delay, u[2] call delay, u[3] flat door
    open, u[4] sprinkler works, u[5] fire-water system dry. Every uniform is
    used the same way whatever the policy, so two policies meet the same draws.
    ``alarm_works`` and ``report_after_s`` replace the draws when known (a case replay).
    """
    p_alarm = r.alarm_working_prob_maintained if alarm_maintenance else r.alarm_working_prob
    alarm = bool(u[0] < p_alarm) if alarm_works is None else bool(alarm_works)
    flaming = r.vent_delay_s
    t_det = flaming + (r.alarm_detect_s if alarm else _lognormal(r.discovery_median_s, 0.5, float(u[1])))
    t_rep = t_det + _lognormal(r.call_delay_median_s, 0.5, float(u[2]))
    if report_after_s is not None:
        t_rep = float(report_after_s)
        t_det = min(t_det, t_rep)
    t_evac = t_det + (r.premovement_alarm_s if alarm else r.premovement_no_alarm_s)
    floor = 1 if location == "parking" else min(max(int(floor), 1), floors)
    if location == "flat" and u[3] >= r.flat_door_open_share:
        route = "none"
    else:
        route = "shaft" if shaft else "stair"
    cap = r.bike_peak_kw * (max(r.parking_bikes_involved, 1) if location == "parking" else 1)
    if sprinklers and location == "parking" and u[4] >= r.sprinkler_fail_prob:
        cap = min(cap, r.sprinkler_cap_kw)
    share = r.no_water_share_monitored if pressure_monitoring else r.no_water_share
    return FireSetup(
        floors=int(floors), households=int(households), location=location, floor=floor, route=route,
        cap_kw=float(cap), alarm_works=alarm, t_detect_s=float(t_det), t_report_s=float(t_rep),
        t_evac_s=float(t_evac), hour=float(hour), no_water=bool(u[5] < share),
    )


def untenable_times(s: FireSetup, r: FireResponseConfig, t_water_s: float = math.inf) -> np.ndarray:
    """Seconds after ignition at which each floor (index 0 = floor 1) becomes untenable.

    ``inf`` for a floor that never does; spread stops ``knockdown_s`` after
    first water at ``t_water_s``. A flat fire behind a closed door (route
    ``none``) leaves every common floor tenable; see :func:`outcome` for the
    flat itself.
    """
    out = np.full(s.floors, math.inf)
    t0 = time_to_hrr(r.untenable_kw, r, s.cap_kw)
    if s.route == "none" or not math.isfinite(t0):
        return out
    v = r.smoke_shaft_m_s if s.route == "shaft" else r.smoke_stair_m_s
    f = np.arange(1, s.floors + 1)
    above = f >= s.floor
    rise = (f - s.floor) * r.floor_height_m / v + np.where(f > s.floor, r.floor_fill_s, 0.0)
    if s.route == "shaft":
        # Shaft smoke banks in the upper floors; the origin floor is untenable too.
        top = f > s.floors * (1.0 - r.shaft_affected_share)
        above = (above & top) | (f == s.floor)
    out[above] = t0 + rise[above]
    out[out > t_water_s + r.knockdown_s] = math.inf
    return out


def occupants_per_floor(s: FireSetup, r: FireResponseConfig) -> np.ndarray:
    """Expected people at home on each floor (evenly spread; night or day share)."""
    return np.full(s.floors, s.households / s.floors * r.household_size * _at_home(s, r))


def _at_home(s: FireSetup, r: FireResponseConfig) -> float:
    night = s.hour >= 22.0 or s.hour < 7.0
    return r.at_home_night if night else r.at_home_day


def _p_death(t_s: float, r: FireResponseConfig) -> float:
    if t_s <= 0:
        return 0.0
    return float(1.0 - math.exp(-t_s / r.fatal_tau_s))


def first_water_after(t_ready_s: float, r: FireResponseConfig, pressure: bool) -> float:
    """First water: set-up from ``t_ready_s``, plus a relay when the building has no pressure."""
    return t_ready_s + r.setup_s + (0.0 if pressure else r.relay_s)


def outcome(s: FireSetup, r: FireResponseConfig, t_water_s: float) -> Outcome:
    """Occupants, expected people exposed and expected casualties (see the module docstring)."""
    unt = untenable_times(s, r, t_water_s)
    occ = occupants_per_floor(s, r)
    step = r.stair_m_per_floor / r.stair_speed_m_s  # s per storey on the stair
    slow = step / r.smoke_speed_factor  # one storey in smoke
    fail = r.shelter_fail_shaft if s.route == "shaft" else r.shelter_fail_stair
    exposed = casualties = 0.0
    for i in range(s.floors):
        f = i + 1
        rescue = t_water_s + r.search_s_per_floor * f
        n_shelter = occ[i] * r.shelter_share
        n_evac = occ[i] - n_shelter
        if math.isfinite(unt[i]) and unt[i] < rescue:
            # Sheltering households: exposed only if the door or window fails.
            exposed += n_shelter * fail
            casualties += n_shelter * fail * _p_death(rescue - unt[i], r)
        # Walking down: passing floor k at t_evac + (f - k) * step. Whoever
        # meets untenable conditions (on their own floor or lower) is exposed
        # for about one storey in smoke, turns back and shelters like the others.
        for k in range(f, 0, -1):
            t_meet = s.t_evac_s + (f - k) * step
            if t_meet >= unt[k - 1]:
                exposed += n_evac
                casualties += n_evac * _p_death(slow, r)
                if unt[i] < rescue:
                    casualties += n_evac * fail * _p_death(rescue - unt[i], r)
                break
    if s.route == "none":
        # A flat fire behind a closed door: the household of the origin flat.
        t0 = time_to_hrr(r.untenable_kw, r, s.cap_kw)
        n_flat = r.household_size * _at_home(s, r)
        if math.isfinite(t0) and s.t_evac_s > t0:
            exposed += n_flat
            casualties += n_flat * _p_death(s.t_evac_s - t0, r)
    n_unt = int(np.isfinite(unt).sum())
    return Outcome(occupants=float(occ.sum()), exposed=float(exposed), casualties=float(casualties),
                   floors_untenable=n_unt)
