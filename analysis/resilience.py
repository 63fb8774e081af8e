"""Lifeline service curves and the resilience metrics computed on them.

``service.csv`` records each lifeline's state on change only (the first row at
t = 0), so the served fraction Q(t) is a right-continuous step function:
Q(t) = q_i on [t_i, t_(i+1)), the last value held to the horizon H. Every
metric here integrates that step function exactly (sums of value × duration,
no sampling):

* Bruneau et al. (2003) resilience loss, the "resilience triangle" area,
  RL = ∫_0^H (1 − Q(t)) dt (DOMAIN.md 1.1; Hosseini et al. 2016 Eq. 1 with Q
  as a fraction instead of %); in seconds, hours, and % of the horizon.
* Customer-hours of interruption, the IEEE 1366 CHI analogue (DOMAIN.md 1.6):
  CHI = ∫_0^H customers_out(t) dt / 3600.
* SAIFI, SAIDI, CAIDI and ASAI over the run with the IEEE 1366 denominator,
  all customers served N_T (not the customers affected).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "OutageIndices",
    "Recovery",
    "ServiceCurve",
    "ServiceResilience",
    "customer_hours_lost",
    "min_served",
    "outage_indices",
    "recovery",
    "resilience_loss",
    "service_curve",
    "service_resilience",
]

# Anything closer to full service than this counts as full service.
_FULL = 1.0 - 1e-9
# service.csv holds served_fraction with 3 decimals (sim.output.fmt); a
# fraction computed from the exact customer counts that agrees with it to that
# precision replaces it.
_WRITTEN_PRECISION = 0.0005 + 1e-9


@dataclass(frozen=True)
class ServiceCurve:
    """Q(t) of one lifeline as a step function on [0, horizon_s].

    ``t_s[i]`` (strictly increasing, ``t_s[0] = 0``, all < horizon) starts a
    step on which the served fraction is ``served[i]`` and
    ``customers_out[i]`` customers are without service; ``durations[i]`` is
    its length (the last step runs to the horizon).
    """

    lifeline: str
    horizon_s: float
    t_s: np.ndarray
    served: np.ndarray
    customers_out: np.ndarray
    customers_total: int
    # Customers newly cut off, summed over every row in file order (None: from the steps). Rows at one
    # instant collapse to one step, so an outage starting as another ends there would not be a rise.
    interrupted: float | None = None

    @property
    def durations(self) -> np.ndarray:
        return np.diff(np.append(self.t_s, self.horizon_s))


@dataclass(frozen=True)
class Recovery:
    """First drop below full service, the last return to it, and the time between.

    All ``None`` for ``t_*`` and ``time_to_recover_s = 0.0`` when service never
    dropped; ``t_recovered_s`` and ``time_to_recover_s`` are ``None`` when
    service was still short at the horizon.
    """

    t_disrupted_s: float | None
    t_recovered_s: float | None
    time_to_recover_s: float | None


@dataclass(frozen=True)
class OutageIndices:
    """IEEE 1366-style indices over the run (not per year).

    CI = Σ_i max(0, out_i − out_(i−1)) over the rows of ``service.csv`` in order: customers newly
    cut off at each rise (two rows at one instant, one outage ending as another starts, both count);
    SAIFI = CI / N_T; SAIDI = ∫ out dt / N_T (hours per customer);
    CAIDI = SAIDI / SAIFI (hours per interruption); ASAI = 1 − ∫ out dt / (N_T·H).
    Indices are ``None`` when N_T = 0 (CAIDI also when CI = 0).
    """

    customers_total: int
    customers_interrupted: int
    saifi: float | None
    saidi_h: float | None
    caidi_h: float | None
    asai: float | None


@dataclass(frozen=True)
class ServiceResilience:
    """Every metric of one lifeline's curve, flat, for reports and summaries."""

    lifeline: str
    horizon_s: float
    resilience_loss_s: float
    resilience_loss_h: float
    resilience_loss_pct: float
    mean_served: float
    min_served: float
    t_min_s: float
    t_disrupted_s: float | None
    t_recovered_s: float | None
    time_to_recover_s: float | None
    customer_hours_lost: float
    customers_total: int
    customers_interrupted: int
    saifi: float | None
    saidi_h: float | None
    caidi_h: float | None
    asai: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def service_curve(service: pd.DataFrame, horizon_s: float, lifeline: str = "water") -> ServiceCurve:
    """Rebuild Q(t) of ``lifeline`` from ``service.csv`` by forward fill up to ``horizon_s``.

    Rows are taken in time order (file order among equal times, the last of
    them wins); rows at or after the horizon are dropped. Full service is
    assumed before the first row, and throughout when the lifeline has no rows.

    q_i = 1 − customers_out_i / customers_total_i where that agrees with the
    written ``served_fraction`` to its 3 decimals (the counts are exact, the
    fraction is rounded), else ``served_fraction`` as written.
    """
    horizon = float(horizon_s)
    if not horizon > 0:
        raise ValueError(f"horizon_s must be positive, got {horizon_s!r}")
    rows = service[service["lifeline"] == lifeline].copy()
    if len(rows) and float(rows["t_s"].min()) < 0:
        raise ValueError(f"service.csv: negative time for lifeline {lifeline!r}")
    total = int(rows["customers_total"].max()) if len(rows) else 0
    rows["_order"] = np.arange(len(rows))
    rows = rows.sort_values(["t_s", "_order"], kind="stable")
    rows = rows[rows["t_s"] < horizon]
    seq = np.concatenate([[0.0], rows["customers_out"].to_numpy(dtype=float)])
    interrupted = float(np.clip(np.diff(seq), 0.0, None).sum())
    rows = rows.drop_duplicates("t_s", keep="last")
    t = rows["t_s"].to_numpy(dtype=float)
    q = rows["served_fraction"].to_numpy(dtype=float)
    out = rows["customers_out"].to_numpy(dtype=float)
    tot = rows["customers_total"].to_numpy(dtype=float)
    counted = tot > 0
    exact = 1.0 - out / np.where(counted, tot, 1.0)
    q = np.where(counted & (np.abs(exact - q) <= _WRITTEN_PRECISION), exact, q)
    if t.size == 0 or t[0] > 0:
        t = np.concatenate([[0.0], t])
        q = np.concatenate([[1.0], q])
        out = np.concatenate([[0.0], out])
    return ServiceCurve(lifeline, horizon, t, q, out, total, interrupted)


def resilience_loss(curve: ServiceCurve) -> float:
    """Bruneau et al. (2003) resilience loss in seconds: RL = ∫_0^H (1 − Q(t)) dt = Σ_i (1 − q_i)·Δt_i.

    0 for uninterrupted service, H for a total outage over the whole horizon;
    the mean served fraction is 1 − RL/H.
    """
    return float(np.sum((1.0 - curve.served) * curve.durations))


def min_served(curve: ServiceCurve) -> tuple[float, float]:
    """(min_t Q(t), the first time it is reached)."""
    i = int(np.argmin(curve.served))
    return float(curve.served[i]), float(curve.t_s[i])


def recovery(curve: ServiceCurve) -> Recovery:
    """Time to recover = t_recovered − t_disrupted.

    t_disrupted = the first t with Q(t) < 1; t_recovered = the start of the
    final full-service step (the last return to Q = 1). ``None`` when Q < 1 at
    the horizon; 0 when Q never dropped.
    """
    short = curve.served < _FULL
    if not short.any():
        return Recovery(None, None, 0.0)
    first = int(np.argmax(short))
    t0 = float(curve.t_s[first])
    if short[-1]:
        return Recovery(t0, None, None)
    last = int(np.nonzero(short)[0][-1])
    t1 = float(curve.t_s[last + 1])
    return Recovery(t0, t1, t1 - t0)


def customer_hours_lost(curve: ServiceCurve) -> float:
    """Customer-hours of interruption (IEEE 1366 CHI analogue): ∫_0^H customers_out(t) dt / 3600."""
    return float(np.sum(curve.customers_out * curve.durations)) / 3600.0


def outage_indices(curve: ServiceCurve) -> OutageIndices:
    """SAIFI, SAIDI, CAIDI and ASAI over the run; see :class:`OutageIndices` for the formulas.

    Counts every rise in customers_out as an interruption of the newly cut-off
    customers; IEEE 1366's split between sustained (> 5 min) and momentary
    interruptions is not applied.
    """
    out = curve.customers_out
    if curve.interrupted is not None:  # every row, so two changes at one instant both count
        ci = int(round(curve.interrupted))
    else:
        ci = int(round(float(np.sum(np.clip(np.diff(np.concatenate([[0.0], out])), 0.0, None)))))
    n_t = int(curve.customers_total)
    cust_s = float(np.sum(out * curve.durations))
    if n_t <= 0:
        return OutageIndices(n_t, ci, None, None, None, None)
    saifi = ci / n_t
    saidi_h = cust_s / n_t / 3600.0
    caidi_h = cust_s / ci / 3600.0 if ci else None
    asai = 1.0 - cust_s / (n_t * curve.horizon_s)
    return OutageIndices(n_t, ci, saifi, saidi_h, caidi_h, asai)


def service_resilience(service: pd.DataFrame, horizon_s: float, lifeline: str = "water") -> ServiceResilience:
    """All metrics of :func:`service_curve` (``lifeline``, ``horizon_s``) in one record.

    RL in seconds, hours (RL/3600) and % of the horizon (100·RL/H); mean
    served = 1 − RL/H; plus :func:`min_served`, :func:`recovery`,
    :func:`customer_hours_lost` and :func:`outage_indices`.
    """
    curve = service_curve(service, horizon_s, lifeline)
    rl = resilience_loss(curve)
    q_min, t_min = min_served(curve)
    rec = recovery(curve)
    idx = outage_indices(curve)
    h = curve.horizon_s
    return ServiceResilience(
        lifeline=lifeline,
        horizon_s=h,
        resilience_loss_s=rl,
        resilience_loss_h=rl / 3600.0,
        resilience_loss_pct=100.0 * rl / h,
        mean_served=1.0 - rl / h,
        min_served=q_min,
        t_min_s=t_min,
        t_disrupted_s=rec.t_disrupted_s,
        t_recovered_s=rec.t_recovered_s,
        time_to_recover_s=rec.time_to_recover_s,
        customer_hours_lost=customer_hours_lost(curve),
        customers_total=idx.customers_total,
        customers_interrupted=idx.customers_interrupted,
        saifi=idx.saifi,
        saidi_h=idx.saidi_h,
        caidi_h=idx.caidi_h,
        asai=idx.asai,
    )
