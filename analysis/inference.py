"""Confidence intervals for replicated runs: option means, paired and unpaired differences.

Pure functions of arrays of per-run metrics (one value per replication); no
I/O. :mod:`analysis.compare` applies them to the table that
:mod:`analysis.collect` builds. With common random numbers (the named streams
keep hazards and background calls identical across options for one seed) the
runs of two options are matched by seed, and the differences
d_i = x_i − b_i are the sample to analyse:

==============  ===============================================================
mean            x̄ ± t(1−α/2, n−1) · s/√n  (Student t)
paired t        d̄ ± t(1−α/2, n−1) · s_d/√n
bootstrap       the (k+1)-th smallest and largest of B resample means d̄*, k ≈
                (B + 1)·α/2 − 1 (:func:`bootstrap_rank`), and the p-value
                2·(1 + #{d̄* on the far side of 0})/(B + 1) of the same means
                (n ≥ :data:`BOOTSTRAP_MIN_N` pairs; below, the paired t)
unpaired        Welch: x̄ − b̄ ± t(1−α/2, ν) · √(s_x²/n_x + s_b²/n_b)
==============  ===============================================================

Var(x − b) = Var(x) + Var(b) − 2·Cov(x, b): the positive covariance that common
random numbers create is what makes the paired interval narrower than the
Welch interval on the same runs. :func:`replications_needed` inverts the
half-width for a target precision (Law & Kelton, sequential rule with the
t quantile at the new n).

The percentile bootstrap is refused below :data:`BOOTSTRAP_MIN_N` pairs (the
paired t is used instead, and the :class:`Difference` says so), and its
p-value is never finer than the resampling resolves
(:attr:`Difference.p_floor`). Its interval and its p-value are read from the
same sorted resample means, so the interval excludes 0 exactly when
p < α (as for the t interval and t-test): the report's verdict and its
p-value cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "BOOTSTRAP_MIN_N",
    "METHODS",
    "Difference",
    "Interval",
    "bootstrap_p_floor",
    "bootstrap_rank",
    "bootstrap_refusal",
    "mean_interval",
    "paired_difference",
    "replications_needed",
    "welch_difference",
    "welch_dof_factor",
]

#: Interval methods for paired differences.
METHODS: dict[str, str] = {
    "t": "paired t",
    "bootstrap": "percentile bootstrap of the paired differences",
}

#: Fewest pairs the percentile bootstrap is used on; below it the paired t interval is given instead.
#:
#: The bootstrap distribution of d̄* has variance (n − 1)/n · s²/n, and its
#: percentiles stand in for normal quantiles where the t quantile belongs, so
#: for the mean of n roughly normal values the percentile interval covers
#: about P(|T(n−1)| ≤ z(1−α/2) · √((n − 1)/n)) instead of 1 − α: the
#: "narrowness bias" of Efron & Tibshirani (1993, *An Introduction to the
#: Bootstrap*, ch. 13–14), Davison & Hinkley (1997, *Bootstrap Methods and
#: their Application*, ch. 5) and Hesterberg (2015, *The American
#: Statistician* 69(4), "What teachers should know about the bootstrap").
#: For a nominal 95 %: 75 % at n = 3, 85 % at n = 5, 90 % at n = 10, 93 % at
#: n = 20 (a simulation of the interval below agrees within 2 points). Ten
#: pairs is where the shortfall is down to about five points; with fewer, the
#: t interval, which is exact for normal differences, is the honest one. The
#: resampling is also coarse there: n pairs have only C(2n − 1, n) distinct
#: resamples (10 at n = 3), each ordered one of probability n⁻ⁿ.
BOOTSTRAP_MIN_N: int = 10

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval (NaN where undefined, e.g. n < 2)."""

    estimate: float
    low: float
    high: float
    n: int
    level: float
    method: str
    sd: float = math.nan

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    @property
    def width(self) -> float:
        return self.high - self.low

    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Difference:
    """Option minus baseline over matched replications.

    ``paired`` is the interval of the mean paired difference (by ``method``),
    ``unpaired`` the Welch interval on the same runs, for contrast;
    ``p_value`` is two-sided for "no difference" (paired t-test, or the
    bootstrap's achieved significance level); for either method
    ``paired.excludes_zero()`` holds exactly when ``p_value < 1 − level``
    (for the bootstrap, as long as ``p_floor`` is below 1 − level, which it
    is from :data:`BOOTSTRAP_MIN_N` pairs). ``p_floor`` is the smallest
    p-value the method can resolve (0 for the t-test, set on every bootstrap
    result): a bootstrap p-value equal to it means "p ≤ p_floor", not that
    value. ``note`` says why the method differs from the one asked for
    (empty when it does not).
    """

    paired: Interval
    unpaired: Interval
    p_value: float
    baseline_mean: float
    option_mean: float
    p_floor: float = 0.0
    note: str = ""

    @property
    def n(self) -> int:
        return self.paired.n

    @property
    def method(self) -> str:
        """The method that gave the paired interval (``"t"`` when a bootstrap was refused)."""
        return self.paired.method

    def p_at_floor(self) -> bool:
        """True when the p-value is only known to be at most :attr:`p_floor`."""
        return self.p_floor > 0 and self.p_value <= self.p_floor

    @property
    def relative(self) -> float:
        """The mean difference as a fraction of the baseline mean (NaN when that is 0)."""
        b = self.baseline_mean
        return self.paired.estimate / abs(b) if b and math.isfinite(b) else math.nan


def _clean(x: ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    return a[np.isfinite(a)]


def _stats() -> ModuleType:
    """scipy.stats, imported when first needed: it adds about 0.25 s to a run's imports, and a run's
    own report (which imports this package) never needs it."""
    from scipy import stats

    return stats


def _t(level: float, dof: float) -> float:
    return float(_stats().t.ppf(0.5 + level / 2.0, dof))


def mean_interval(x: ArrayLike, level: float = 0.95) -> Interval:
    """Student-t interval of the mean of ``x`` (NaN values dropped): x̄ ± t(1−α/2, n−1)·s/√n."""
    a = _clean(x)
    n = int(a.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0, level, "t")
    m = float(a.mean())
    if n == 1:
        return Interval(m, math.nan, math.nan, 1, level, "t")
    sd = float(a.std(ddof=1))
    h = _t(level, n - 1) * sd / math.sqrt(n)
    return Interval(m, m - h, m + h, n, level, "t", sd)


def bootstrap_p_floor(n: int, resamples: int) -> float:
    """The smallest two-sided bootstrap p-value that ``resamples`` resamples of ``n`` pairs can resolve.

    max(2 / (B + 1), 2 · n⁻ⁿ): the Monte Carlo p-value (1 + r)/(B + 1) of
    each tail (Davison & Hinkley 1997, ch. 4) is at least 1/(B + 1), and no
    event of the exact bootstrap distribution but the empty one is rarer
    than one ordered resample, n⁻ⁿ.
    """
    exact = 2.0 * math.exp(-n * math.log(n)) if n > 0 else 1.0
    return min(1.0, max(2.0 / (resamples + 1), exact))


def _alpha(level: float) -> float:
    """1 − ``level`` without the float residue (1 − 0.95 is 0.050000000000000044)."""
    return round(1.0 - level, 12)


def _tail_p(tail: int, resamples: int) -> float:
    """The Monte Carlo p-value 2 · (1 + r) / (B + 1) of a tail holding r of B resamples."""
    return 2.0 * (1 + tail) / (resamples + 1)


def bootstrap_rank(level: float, resamples: int) -> int:
    """0-based rank k of the bootstrap interval's ends: the largest k with 2 · (1 + k) / (B + 1) < 1 − level.

    The interval is [d̄*₍ₖ₎, d̄*₍B−1−k₎] of the B sorted resample means, so
    its lower end is above 0 exactly when at most k means are ≤ 0, that is
    when the p-value 2 · (1 + #{d̄* ≤ 0}) / (B + 1) is below α (and likewise
    for the upper end): the interval excludes 0 exactly when p < α. k is
    the order statistic (B + 1)·α/2 − 1 of Davison & Hinkley (1997, ch. 5)
    rounded down, and one lower when (B + 1)·α/2 is a whole number, so that
    p = α itself is not a detection (249 for B = 10 000 and 95 %: the 250th
    smallest and largest means; 23 for B = 999).
    Raises :class:`ValueError` when B is too small for any interval at
    ``level`` (2/(B + 1) ≥ α).
    """
    alpha = _alpha(level)
    k = max(0, int(alpha * (resamples + 1) / 2.0) - 2)
    while _tail_p(k + 1, resamples) < alpha:
        k += 1
    while k >= 0 and not _tail_p(k, resamples) < alpha:
        k -= 1
    if k < 0:
        need = max(1, math.floor(2.0 / alpha) - 1)
        while not _tail_p(0, need) < alpha:
            need += 1
        raise ValueError(f"{resamples} bootstrap resamples cannot resolve a {100 * level:g} % interval "
                         f"(p is never below 2/(B + 1)); use at least {need}")
    return k


def _bootstrap(d: np.ndarray, level: float, resamples: int, seed: int) -> tuple[float, float, float]:
    """Percentile interval and achieved significance level of the mean of ``d``, from the same resamples.

    Interval: the order statistics of :func:`bootstrap_rank`. ASL =
    2 · (1 + min(#{d̄* ≤ 0}, #{d̄* ≥ 0})) / (B + 1), never below
    :func:`bootstrap_p_floor` (a tail with no resample is "p ≤ 2/(B + 1)",
    not 0). The interval excludes 0 exactly when ASL < α.
    """
    k = bootstrap_rank(level, resamples)
    rng = np.random.default_rng(seed)
    n = d.size
    means = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))  # bounds memory at ~16 MB of indices
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = d[idx].mean(axis=1)
    means.sort()
    low, high = means[k], means[resamples - 1 - k]
    tail = min(int(np.count_nonzero(means <= 0)), int(np.count_nonzero(means >= 0)))
    asl = max(_tail_p(tail, resamples), bootstrap_p_floor(n, resamples))
    return float(low), float(high), min(1.0, asl)


def paired_difference(
    option: ArrayLike,
    baseline: ArrayLike,
    level: float = 0.95,
    method: str = "t",
    resamples: int = 10_000,
    seed: int = 0,
) -> Difference:
    """Mean of d_i = option_i − baseline_i over the pairs where both are finite.

    ``option`` and ``baseline`` are aligned by replication (same seed at the
    same index). ``method`` is ``"t"`` (paired t) or ``"bootstrap"``
    (percentile, ``resamples`` resamples of the pairs, generator seeded with
    ``seed`` so a report is reproducible; too few resamples for ``level``
    raise :class:`ValueError`, see :func:`bootstrap_rank`). A bootstrap asked
    for fewer than :data:`BOOTSTRAP_MIN_N` pairs gives the paired t instead,
    with ``paired.method == "t"`` and the reason in ``note``. Identical inputs
    give exactly 0 with a zero-width interval. Pairs that all differ by the
    same non-zero amount give that amount with a zero-width interval and
    p = 0 for the t-test, or p = ``p_floor`` for the bootstrap (every
    resample mean is on one side of 0, which it resolves only to
    ``p_floor``).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, got {method!r}")
    if resamples < 1:
        raise ValueError(f"resamples must be positive, got {resamples}")
    if method == "bootstrap":
        bootstrap_rank(level, resamples)  # too few resamples for the level is an error whatever n is
    x = np.asarray(option, dtype=float)
    b = np.asarray(baseline, dtype=float)
    if x.shape != b.shape:
        raise ValueError(f"option and baseline must be aligned: shapes {x.shape} and {b.shape}")
    keep = np.isfinite(x) & np.isfinite(b)
    x, b = x[keep], b[keep]
    d = x - b
    n = int(d.size)
    note = ""
    if method == "bootstrap" and n < BOOTSTRAP_MIN_N:
        method = "t"
        note = bootstrap_refusal(n)
    floor = bootstrap_p_floor(n, resamples) if method == "bootstrap" else 0.0
    unpaired = welch_difference(x, b, level)
    bm = float(b.mean()) if n else math.nan
    xm = float(x.mean()) if n else math.nan
    if n < 2:
        est = float(d.mean()) if n else math.nan
        return Difference(Interval(est, math.nan, math.nan, n, level, method), unpaired, math.nan, bm, xm,
                          note=note)
    est = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0:
        # Every pair differs by the same amount (0 for an option against itself): no sampling error. Every
        # resample mean is that amount, so a bootstrap p is its floor (never 0, which it cannot resolve).
        p = 1.0 if est == 0.0 else floor
        return Difference(Interval(est, est, est, n, level, method, 0.0), unpaired, p, bm, xm, p_floor=floor,
                          note=note)
    if method == "t":
        h = _t(level, n - 1) * sd / math.sqrt(n)
        p = float(2.0 * _stats().t.sf(abs(est) / (sd / math.sqrt(n)), n - 1))
        return Difference(Interval(est, est - h, est + h, n, level, method, sd), unpaired, p, bm, xm, note=note)
    low, high, p = _bootstrap(d, level, resamples, seed)
    return Difference(Interval(est, low, high, n, level, method, sd), unpaired, p, bm, xm, p_floor=floor)


def bootstrap_refusal(n: int) -> str:
    """Why a bootstrap over ``n`` pairs was not used (see :data:`BOOTSTRAP_MIN_N`)."""
    return (f"bootstrap refused: {n} paired seed{'s' if n != 1 else ''}, fewer than the {BOOTSTRAP_MIN_N} a "
            "percentile bootstrap needs (with few seeds it covers far less than its level), so the paired t "
            "interval is given")


def welch_difference(option: ArrayLike, baseline: ArrayLike, level: float = 0.95) -> Interval:
    """Unpaired (Welch) interval of mean(option) − mean(baseline), ignoring any pairing.

    ν = (s_x²/n_x + s_b²/n_b)² / ((s_x²/n_x)²/(n_x − 1) + (s_b²/n_b)²/(n_b − 1)).
    The interval's ``sd`` is √(s_x² + s_b²), the spread of the difference of
    two independent runs, so ``replications_needed(sd, h)`` is the number of
    runs per option an unpaired comparison would need.
    """
    x, b = _clean(option), _clean(baseline)
    nx, nb = int(x.size), int(b.size)
    if nx == 0 or nb == 0:
        return Interval(math.nan, math.nan, math.nan, min(nx, nb), level, "welch")
    est = float(x.mean() - b.mean())
    if nx < 2 or nb < 2:
        return Interval(est, math.nan, math.nan, min(nx, nb), level, "welch")
    sx2, sb2 = float(x.var(ddof=1)), float(b.var(ddof=1))
    vx, vb = sx2 / nx, sb2 / nb
    se = math.sqrt(vx + vb)
    sd = math.sqrt(sx2 + sb2)
    if se == 0.0:
        return Interval(est, est, est, min(nx, nb), level, "welch", 0.0)
    dof = (vx + vb) ** 2 / (vx**2 / (nx - 1) + vb**2 / (nb - 1))
    h = _t(level, dof) * se
    return Interval(est, est - h, est + h, min(nx, nb), level, "welch", sd)


def replications_needed(sd: float, half_width: float, level: float = 0.95, n_max: int = 100_000,
                        dof_factor: float = 1.0) -> int | None:
    """Smallest n ≥ 2 with t(1−α/2, dof_factor·(n−1))·sd/√n ≤ ``half_width``.

    ``sd`` is the standard deviation of one replication's value (of the
    paired difference, for a paired comparison). For an unpaired (Welch)
    comparison of n runs per option, ``dof_factor`` is
    (s_x² + s_b²)² / (s_x⁴ + s_b⁴) (:func:`welch_dof_factor`, 1 to 2), so the
    count matches the Welch interval's degrees of freedom at that n. ``None``
    when it cannot be said (no estimate of ``sd``, a non-positive target) or
    exceeds ``n_max``.
    """
    if not (math.isfinite(sd) and math.isfinite(half_width)) or half_width <= 0:
        return None
    if sd == 0:
        return 2
    z = float(_stats().norm.ppf(0.5 + level / 2.0))
    n = max(2, math.ceil((z * sd / half_width) ** 2))  # the normal rule is a lower bound
    while n <= n_max:
        if _t(level, dof_factor * (n - 1)) * sd / math.sqrt(n) <= half_width:
            return n
        n += 1 if n < 1000 else max(1, n // 100)
    return None


def welch_dof_factor(sd_x: float, sd_b: float) -> float:
    """Welch's degrees of freedom over n − 1 for n runs per option: (s_x² + s_b²)² / (s_x⁴ + s_b⁴).

    2 when the two spreads are equal, towards 1 when one dominates; 1 when it cannot be said.
    """
    vx, vb = sd_x * sd_x, sd_b * sd_b
    if not (math.isfinite(vx) and math.isfinite(vb)) or vx * vx + vb * vb == 0:
        return 1.0
    return (vx + vb) ** 2 / (vx * vx + vb * vb)
