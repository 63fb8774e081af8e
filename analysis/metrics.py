"""Response-time metrics: segment times per incident, fractiles and compliance.

Pure functions of ``incidents.csv`` (as read by :func:`analysis.rundir.load_run`).
The segments follow the time stamps the engine records and the boundaries the
standards use (DOMAIN.md 2.1 and 2.5; README "incidents.csv"):

=====================  =============================================
call processing        t_dispatch − t_report − wait
queue wait             wait (no capable unit was free)
turnout                t_enroute − t_unit_dispatch (the first-arriving unit's)
travel                 t_arrival − t_enroute
dispatch to arrival    t_arrival − t_dispatch
total response         t_arrival − t_report
=====================  =============================================

Compliance is reported the way the standards define it (DOMAIN.md 2.1, 2.5):
by fractile, not by mean. For each objective we give the share of incidents
that met the target and the value at the configured fractile (p90), and an
objective passes when that share is at least the fractile. Fractiles are
nearest-rank (Hyndman & Fan type 1): p90 is the smallest observed time that at
least 90 % of incidents met, so "p90 ≤ target" and "share ≥ 90 %" always agree.

Incidents never reached (``unserved``, or still waiting at the horizon) have no
arrival time. They are excluded from the fractiles, which describe the
incidents that were reached, and counted separately in every result, with a
lower-bound share that counts them as failures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from sim.log import OUTCOMES

__all__ = [
    "COMPONENTS",
    "EMS_TYPES",
    "FULL_ALARM_TYPES",
    "MEASURES",
    "FIRE_TYPES",
    "OTHER_TYPES",
    "UTILITY_TYPES",
    "Compliance",
    "Standards",
    "Stats",
    "compliance",
    "emergency",
    "fractile",
    "outcome_counts",
    "response_components",
    "response_table",
    "standards_compliance",
    "summarize",
]

#: Fire-service incident types: GB 51080 and the NFPA 1710 fire turnout apply. The flood's
#: rescue calls (vehicles caught in an underpass, residents cut off by water) are answered by
#: the fire service's rescue units (run card ``{rescue: 1}``), like any other technical rescue.
FIRE_TYPES: tuple[str, ...] = (
    "fire", "highrise_fire", "rescue", "gas_fire", "lpg_leak", "vehicle_trapped", "people_trapped",
)
#: Fires below high-rise: NFPA 1710's initial full alarm objective (480 s of travel) applies;
#: ``highrise_fire`` has its own (610 s).
FULL_ALARM_TYPES: tuple[str, ...] = ("fire", "gas_fire")
#: Emergency medical incidents: the NFPA 1710 EMS turnout applies.
EMS_TYPES: tuple[str, ...] = ("medical",)
#: Utility work orders: timed like the others, but no response standard applies.
UTILITY_TYPES: tuple[str, ...] = ("water_main_break", "substation_fault", "feeder_fault", "flood_pumping")
#: Emergencies led by other services (an elevator technician; a gas crew with an engine in
#: support): counted as emergencies and timed, but neither GB 51080 nor NFPA 1710 applies.
OTHER_TYPES: tuple[str, ...] = ("elevator_entrapment", "gas_leak")

#: Response-time segments: column name -> label used in tables and figures.
COMPONENTS: dict[str, str] = {
    "call_processing": "Call processing",
    "queue_wait": "Queue wait",
    "turnout": "Turnout",
    "travel": "Travel",
    "dispatch_to_arrival": "Dispatch to arrival",
    "response": "Total response",
}

#: Every measure a standard's objective may use: the segments and the initial full alarm's travel.
MEASURES: dict[str, str] = {**COMPONENTS, "full_alarm_travel": "Full-alarm travel"}


@dataclass(frozen=True)
class Standards:
    """Response targets (mirrors ``sim.config.StandardsConfig``; seconds).

    GB 51080-2015 §4.1.3: arrive within 5 min of the dispatch order.
    NFPA 1710: turnout 80 s (fire, special operations) / 60 s (EMS); travel of
    the first unit 240 s; travel of an ALS unit to an EMS incident 480 s; travel
    of the initial full alarm assignment 480 s (610 s at a high-rise); each met
    for at least ``fractile`` of incidents.
    """

    gb51080_dispatch_to_arrival_s: float = 300.0
    nfpa1710_turnout_fire_s: float = 80.0
    nfpa1710_turnout_ems_s: float = 60.0
    nfpa1710_travel_s: float = 240.0
    nfpa1710_travel_als_s: float = 480.0
    nfpa1710_full_alarm_travel_s: float = 480.0
    nfpa1710_full_alarm_highrise_travel_s: float = 610.0
    fractile: float = 0.9

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ValueError(f"standards.{f.name} must be a positive number, got {v!r}")
        if self.fractile > 1:
            raise ValueError(f"standards.fractile must be in (0, 1], got {self.fractile!r}")

    @classmethod
    def of(cls, value: Standards | Mapping[str, Any] | object | None) -> Standards:
        """From ``None`` (defaults), a mapping, or any object with the same attribute names."""
        if value is None:
            return cls()
        if isinstance(value, Standards):
            return value
        names = [f.name for f in fields(cls)]
        if isinstance(value, Mapping):
            kw = {k: float(value[k]) for k in names if k in value}
        else:
            kw = {k: float(getattr(value, k)) for k in names if hasattr(value, k)}
        return cls(**kw)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Stats:
    """Summary of one set of durations (seconds); ``None`` when there are none."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    max: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Compliance:
    """One objective of a standard, evaluated over the incidents it applies to.

    ``n`` incidents have the measured segment, ``n_met`` of them within
    ``target_s``; ``n_unmeasured`` have none (never reached; for the full
    alarm, the run card never complete on scene) and are not in ``share``
    or ``value_at_fractile``. ``share_lower`` = n_met / (n + n_unmeasured)
    counts them as failures. ``passed`` = share ≥ fractile (``None`` if n = 0).
    ``recorded`` is False when the run folder predates the measure (no
    column for it): then nothing is counted, not even as unmeasured.
    """

    standard: str
    measure: str
    types: tuple[str, ...]
    target_s: float
    fractile: float
    n: int
    n_met: int
    n_unmeasured: int
    share: float | None
    share_lower: float | None
    value_at_fractile: float | None
    passed: bool | None
    recorded: bool = True

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["types"] = list(self.types)
        return d


def _clean(values: Iterable[float] | pd.Series | np.ndarray) -> np.ndarray:
    a = np.asarray(pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce"), dtype=float)
    return a[np.isfinite(a)]


def fractile(values: Iterable[float] | pd.Series | np.ndarray, p: float) -> float | None:
    """Nearest-rank fractile: x_(k) with k = ⌈p·n⌉ of the sorted finite values.

    The smallest observed value that at least a share ``p`` of the values do
    not exceed (Hyndman & Fan type 1). ``None`` for no values.
    """
    if not 0 < p <= 1:
        raise ValueError(f"fractile p must be in (0, 1], got {p!r}")
    a = np.sort(_clean(values))
    if a.size == 0:
        return None
    k = max(1, math.ceil(p * a.size - 1e-9))
    return float(a[k - 1])


def summarize(values: Iterable[float] | pd.Series | np.ndarray) -> Stats:
    """count, mean, p50, p90, p95 (nearest-rank, see :func:`fractile`) and max of the finite values.

    NaN (a time that never came) is dropped: count is the number of finite values.
    """
    a = _clean(values)
    if a.size == 0:
        return Stats(0, None, None, None, None, None)
    return Stats(
        count=int(a.size),
        mean=float(a.mean()),
        p50=fractile(a, 0.5),
        p90=fractile(a, 0.9),
        p95=fractile(a, 0.95),
        max=float(a.max()),
    )


def response_components(incidents: pd.DataFrame) -> pd.DataFrame:
    """Segment times per incident, in seconds (NaN where a time never came).

    Returns one row per incident with ``incident``, ``type``, ``source``,
    ``outcome``, ``reached`` (has an arrival) and the :data:`COMPONENTS`:
    call_processing = t_dispatch − t_report − wait_s; queue_wait = wait_s;
    turnout = t_enroute − t_unit_dispatch; travel = t_arrival − t_enroute;
    dispatch_to_arrival = t_arrival − t_dispatch; response = t_arrival − t_report.
    Beside them, ``full_alarm_travel`` (:data:`MEASURES`): the longest travel among the
    units that completed the run card on scene (NaN if it never was complete; no column
    for a folder written before it).

    ``t_enroute`` and ``t_unit_dispatch`` belong to the first-arriving unit, so
    turnout is that unit's own; ``t_dispatch`` is the first dispatch order of
    the incident (GB 51080 counts from it). Folders without the
    ``t_unit_dispatch_s`` column fall back to ``t_dispatch``.
    """
    inc = incidents
    wait = inc["wait_s"].astype(float)
    dispatched = inc["t_dispatch_s"].notna()
    out = pd.DataFrame(
        {
            "incident": inc["incident"].to_numpy(),
            "type": inc["type"].astype(str).to_numpy(),
            "source": inc["source"].astype(str).to_numpy(),
            "outcome": inc["outcome"].astype(str).to_numpy(),
            "reached": inc["t_arrival_s"].notna().to_numpy(),
        }
    )
    t = {c: inc[c].astype(float).to_numpy() for c in ("t_report_s", "t_dispatch_s", "t_enroute_s", "t_arrival_s")}
    out["call_processing"] = t["t_dispatch_s"] - t["t_report_s"] - wait.fillna(0.0).to_numpy()
    out["queue_wait"] = wait.where(dispatched).to_numpy()
    unit_dispatch = (
        inc["t_unit_dispatch_s"].astype(float).to_numpy() if "t_unit_dispatch_s" in inc else t["t_dispatch_s"]
    )
    out["turnout"] = t["t_enroute_s"] - unit_dispatch
    out["travel"] = t["t_arrival_s"] - t["t_enroute_s"]
    out["dispatch_to_arrival"] = t["t_arrival_s"] - t["t_dispatch_s"]
    out["response"] = t["t_arrival_s"] - t["t_report_s"]
    if "full_alarm_travel_s" in inc:  # absent in folders written before it (then not recorded at all)
        out["full_alarm_travel"] = inc["full_alarm_travel_s"].astype(float).to_numpy()
    return out


def emergency(components: pd.DataFrame) -> pd.DataFrame:
    """The rows whose type is not a utility work order (:data:`UTILITY_TYPES`)."""
    return components[~components["type"].isin(UTILITY_TYPES)]


def outcome_counts(incidents: pd.DataFrame) -> dict[str, int]:
    """Incidents by outcome, and reached (has an arrival) or not.

    Keys: ``n_incidents``, ``n_<outcome>`` for each outcome in ``sim.log.OUTCOMES``
    (resolved, unserved, open_at_end), ``n_reached``, ``n_not_reached`` and
    ``n_open_not_reached`` (open at the horizon with no unit yet on scene).
    """
    outcome = incidents["outcome"].astype(str)
    reached = incidents["t_arrival_s"].notna()
    counts = {"n_incidents": int(len(incidents))}
    for o in OUTCOMES:
        counts[f"n_{o}"] = int((outcome == o).sum())
    counts["n_reached"] = int(reached.sum())
    counts["n_not_reached"] = int((~reached).sum())
    counts["n_open_not_reached"] = int(((outcome == "open_at_end") & ~reached).sum())
    return counts


def compliance(
    components: pd.DataFrame,
    measure: str,
    target_s: float,
    types: Iterable[str],
    *,
    fractile_p: float = 0.9,
    standard: str = "",
) -> Compliance:
    """Share of incidents of ``types`` whose ``measure`` ≤ ``target_s``, and its fractile.

    share = #{x_i ≤ target} / n over the n incidents with the measure;
    value_at_fractile = :func:`fractile` (x, fractile_p); passed = share ≥ fractile_p.
    """
    types = tuple(types)
    if measure not in components:  # a run folder written before the measure existed: not recorded
        return Compliance(standard=standard, measure=measure, types=types, target_s=float(target_s),
                          fractile=float(fractile_p), n=0, n_met=0, n_unmeasured=0, share=None, share_lower=None,
                          value_at_fractile=None, passed=None, recorded=False)
    rows = components[components["type"].isin(types)]
    x = rows[measure].astype(float)
    measured = x.notna()
    n = int(measured.sum())
    n_un = int((~measured).sum())
    n_met = int((x[measured] <= target_s).sum())
    share = n_met / n if n else None
    return Compliance(
        standard=standard,
        measure=measure,
        types=types,
        target_s=float(target_s),
        fractile=float(fractile_p),
        n=n,
        n_met=n_met,
        n_unmeasured=n_un,
        share=share,
        share_lower=n_met / (n + n_un) if n + n_un else None,
        value_at_fractile=fractile(x, fractile_p),
        passed=None if share is None else bool(share >= fractile_p - 1e-12),
    )


def standards_compliance(
    components: pd.DataFrame, standards: Standards | Mapping[str, Any] | object | None = None
) -> dict[str, Compliance]:
    """The objectives of GB 51080-2015 §4.1.3 and NFPA 1710 (DOMAIN.md 2.1, 2.3).

    ``gb51080``: dispatch to arrival ≤ 300 s, fire and rescue incidents.
    ``nfpa_turnout_fire``: turnout ≤ 80 s, fire and rescue.
    ``nfpa_turnout_ems``: turnout ≤ 60 s, medical.
    ``nfpa_travel``: travel of the first unit ≤ 240 s, fire, rescue and medical.
    ``nfpa_travel_als``: travel of the first unit ≤ 480 s, medical (NFPA 1710 §4.1.2.1's
    ALS objective, 2004 numbering; the first unit at a medical call is an ambulance while
    the medical run card sends ambulances only, as by default; a card that adds an engine
    would make this the engine's travel. Every ambulance is taken as ALS: an assumption).
    ``nfpa_full_alarm``: travel of the initial full alarm assignment ≤ 480 s, fires (``fire``,
    ``gas_fire``); ``nfpa_full_alarm_highrise``: the same ≤ 610 s, ``highrise_fire``. The
    assignment is the run card, by kind and number, filled by whichever units arrive first;
    its travel is the longest of theirs (each from its own departure, so queueing and turnout
    are left out as NFPA 1710 leaves them out of travel). An incident whose card was never
    complete on scene is unmeasured (counted as a miss in ``share_lower``).
    Each at the configured fractile (0.9).
    """
    s = Standards.of(standards)
    p = s.fractile
    return {
        "gb51080": compliance(
            components, "dispatch_to_arrival", s.gb51080_dispatch_to_arrival_s, FIRE_TYPES,
            fractile_p=p, standard="GB 51080-2015 §4.1.3",
        ),
        "nfpa_turnout_fire": compliance(
            components, "turnout", s.nfpa1710_turnout_fire_s, FIRE_TYPES, fractile_p=p, standard="NFPA 1710",
        ),
        "nfpa_turnout_ems": compliance(
            components, "turnout", s.nfpa1710_turnout_ems_s, EMS_TYPES, fractile_p=p, standard="NFPA 1710",
        ),
        "nfpa_travel": compliance(
            components, "travel", s.nfpa1710_travel_s, FIRE_TYPES + EMS_TYPES, fractile_p=p, standard="NFPA 1710",
        ),
        "nfpa_travel_als": compliance(
            components, "travel", s.nfpa1710_travel_als_s, EMS_TYPES, fractile_p=p, standard="NFPA 1710 (ALS)",
        ),
        "nfpa_full_alarm": compliance(
            components, "full_alarm_travel", s.nfpa1710_full_alarm_travel_s, FULL_ALARM_TYPES, fractile_p=p,
            standard="NFPA 1710 (full alarm)",
        ),
        "nfpa_full_alarm_highrise": compliance(
            components, "full_alarm_travel", s.nfpa1710_full_alarm_highrise_travel_s, ("highrise_fire",),
            fractile_p=p, standard="NFPA 1710 (full alarm, high-rise)",
        ),
    }


def response_table(components: pd.DataFrame) -> pd.DataFrame:
    """Per incident type: counts by outcome and p50/p90 of each segment (seconds).

    Columns: ``n``, ``n_reached``, ``n_unserved``, ``n_open_at_end``, then
    ``<component>_p50`` and ``<component>_p90`` for each of :data:`COMPONENTS`,
    over the incidents of that type that have the segment. Sorted by type.
    """
    rows: list[dict[str, Any]] = []
    for typ, g in sorted(components.groupby("type", sort=True), key=lambda kv: str(kv[0])):
        row: dict[str, Any] = {
            "type": str(typ),
            "n": int(len(g)),
            "n_reached": int(g["reached"].sum()),
            "n_unserved": int((g["outcome"] == "unserved").sum()),
            "n_open_at_end": int((g["outcome"] == "open_at_end").sum()),
        }
        for c in COMPONENTS:
            st = summarize(g[c])
            row[f"{c}_p50"] = st.p50
            row[f"{c}_p90"] = st.p90
        rows.append(row)
    cols = ["type", "n", "n_reached", "n_unserved", "n_open_at_end"]
    cols += [f"{c}_{q}" for c in COMPONENTS for q in ("p50", "p90")]
    return pd.DataFrame(rows, columns=cols).set_index("type")
