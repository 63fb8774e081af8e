"""The dispatch queue against queueing theory: M/M/c with zero travel is Erlang C."""

from __future__ import annotations

import math

import numpy as np

from scenarios.background import background_calls
from sim import engine
from sim.config import BackgroundCallsConfig, CityConfig, PolicyConfig, ServiceTime
from sim.policy import make_policy
from sim.rng import Streams
from tests.conftest import line_city


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c with offered load a = lambda/mu."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_run(c: int, lam: float, mean_service: float, horizon: float, seed: int) -> engine.RunLog:
    city = line_city(n=2, units=tuple(("AS1", "ambulance", 0) for _ in range(c)), customers=(1, 0))
    pol = PolicyConfig()
    pol.dispatch.call_processing = ServiceTime(dist="fixed", median_s=0.0)
    pol.dispatch.run_cards = {"medical": {"ambulance": 1}}
    pol.dispatch.on_scene = {"medical": ServiceTime(dist="exponential", mean_s=mean_service)}
    ccfg = CityConfig()
    ccfg.ambulance.turnout_s = 0.0
    # Flat profile; population chosen so the daily rate gives lam per second.
    calls_cfg = BackgroundCallsConfig(per_1000_per_day={"medical": lam * 86400.0 * 1000.0 / city.population},
                                      hourly_profile=[1.0] * 24)
    streams = Streams(seed)
    calls = background_calls(calls_cfg, city, streams("calls"), horizon)
    return engine.run(city, [], calls, make_policy(pol, ccfg), horizon, streams)


def test_mmc_mean_wait_matches_erlang_c() -> None:
    c, lam, mean_service = 4, 1 / 60.0, 150.0  # a = 2.5, rho = 0.625
    a = lam * mean_service
    pw = erlang_c(c, a)
    wq = pw / (c / mean_service - lam)  # Erlang C mean wait, here ~32 s
    log = mmc_run(c, lam, mean_service, horizon=600_000.0, seed=1)
    waits = np.array([i.t_dispatch - i.t_ready for i in log.incidents if i.t_dispatch is not None])
    assert len(waits) > 9000
    # Waits are autocorrelated, so the tolerance comes from batch means: 25
    # batches of ~400 consecutive calls are close to independent at rho 0.625,
    # and 4 standard errors leave a false-failure chance well under 1e-3.
    batches = np.array_split(waits, 25)
    means = np.array([b.mean() for b in batches])
    se = means.std(ddof=1) / math.sqrt(len(means))
    assert abs(waits.mean() - wq) < 4 * se, (waits.mean(), wq, se)
    # The share that waits at all is Erlang C itself.
    p_wait = np.array([(b > 1e-9).mean() for b in batches])
    se_p = p_wait.std(ddof=1) / math.sqrt(len(p_wait))
    assert abs((waits > 1e-9).mean() - pw) < 4 * se_p, ((waits > 1e-9).mean(), pw, se_p)


def test_as_many_idle_units_as_calls_never_wait() -> None:
    log = mmc_run(c=30, lam=1 / 600.0, mean_service=300.0, horizon=50_000.0, seed=2)
    waits = [i.t_dispatch - i.t_ready for i in log.incidents]
    assert len(waits) > 50 and max(waits) == 0.0
