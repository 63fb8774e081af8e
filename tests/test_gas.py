"""Gas leaks: evacuation, ignition, shut-off, repair and the long tail of relighting."""

from __future__ import annotations

import numpy as np
import pytest

from sim import engine
from sim.config import Config, ConfigError, LeakSpec, ServiceTime
from sim.gas import GasState
from sim.runner import prepare


def cfg_leak(leaks: list[LeakSpec], **gas: object) -> Config:
    cfg = Config()
    cfg.seed = 5
    cfg.run.horizon_s = 48 * 3600.0
    cfg.calls.enabled = False
    cfg.scenario.name = "gas_leak"
    cfg.scenario.gas_leak.leaks = leaks
    cfg.policy.gas.valve_fail_prob = 0.0
    cfg.policy.gas.ignition_prob = 0.0
    for k, v in gas.items():
        setattr(cfg.policy.gas, k, v)
    return cfg


def run(cfg: Config) -> tuple:
    p = prepare(cfg)
    return p, engine.run(p.city, p.hazards, p.calls, p.policy, cfg.run.horizon_s, p.streams)


@pytest.fixture(scope="module")
def city():
    return prepare(cfg_leak([])).city


def a_main_that_cuts_customers_off(city) -> tuple[int, int]:
    """A main whose valve isolation leaves some customers without gas, and how many."""
    for j in range(city.gas.n_pipes):
        st = GasState(city.gas, city.roads.n_nodes)
        st.apply(st.isolate(j, np.zeros(len(city.gas.valves), bool)))
        out = st.customers_out()
        if 50 <= out <= 2000:
            return j, out
    raise AssertionError("no suitable main")


def test_gas_state_relights_what_a_restore_leaves_unlit(city) -> None:
    j, out = a_main_that_cuts_customers_off(city)
    st = GasState(city.gas, city.roads.n_nodes)
    st.apply(st.isolate(j, np.zeros(len(city.gas.valves), bool)))
    assert st.restore_unlit(j) == out and st.customers_out() == out
    assert st.relight(10) == 10 and st.customers_out() == out - 10
    assert st.relight(10**9) == out - 10 and st.customers_out() == 0


def test_shut_off_repair_and_relight_in_the_engine(city) -> None:
    j, out = a_main_that_cuts_customers_off(city)
    pipe = city.gas.pipe_ids[j]
    p, log = run(cfg_leak([LeakSpec(t_s=3600.0, pipe=pipe)]))
    ev = {r.kind: r for r in log.events if r.scope == f"gas.pipe.{pipe}"}
    assert {"leak", "evacuate", "shut_off", "repair", "restore", "relight", "all_clear"} <= set(ev)
    gas = [s for s in log.service if s.lifeline == "gas"]
    assert gas[0].customers_out == 0 and gas[1].t_s == ev["shut_off"].t_s and gas[1].customers_out == out
    # Nothing comes back at the repair: every customer waits to be relit, in steps.
    assert ev["restore"].value == out
    after = [s for s in gas if s.t_s > ev["restore"].t_s]
    assert all(a.customers_out > b.customers_out for a, b in zip(after, after[1:], strict=False))
    assert after[-1].customers_out == 0
    g = p.policy.cfg.gas
    rate = g.relight_per_tech_h * g.relight_techs / 3600.0
    assert after[-1].t_s - ev["restore"].t_s == pytest.approx(out / rate, rel=1e-6)
    # The cordon: every household within the radius of the leak.
    node = int(city.gas.u[j])
    x, y = city.roads.x_m, city.roads.y_m
    inside = (x - x[node]) ** 2 + (y - y[node]) ** 2 <= g.evacuation_radius_m ** 2
    assert ev["evacuate"].value == city.water.customers[inside].sum()


def test_ignition_before_the_shut_off_starts_a_fire_and_after_it_does_not(city) -> None:
    pipe = city.gas.pipe_ids[a_main_that_cuts_customers_off(city)[0]]
    early = ServiceTime(dist="fixed", median_s=60.0)
    _, log = run(cfg_leak([LeakSpec(t_s=3600.0, pipe=pipe)], ignition_prob=1.0, ignition_delay=early))
    fires = [i for i in log.incidents if i.type == "gas_fire"]
    assert len(fires) == 1 and fires[0].t_occur == pytest.approx(3660.0)
    late = ServiceTime(dist="fixed", median_s=40 * 3600.0)
    _, log = run(cfg_leak([LeakSpec(t_s=3600.0, pipe=pipe)], ignition_prob=1.0, ignition_delay=late))
    assert not [i for i in log.incidents if i.type == "gas_fire"]
    assert not [r for r in log.events if r.kind == "ignite"]


def test_an_lpg_leak_is_handled_by_the_fire_brigade(city) -> None:
    zone = city.zones[0].id
    _, log = run(cfg_leak([LeakSpec(t_s=1800.0, zone=zone, cause="lpg")]))
    inc = next(i for i in log.incidents if i.type == "lpg_leak")
    assert inc.outcome == "resolved" and inc.first_unit.startswith("units.engine.")
    assert [s.customers_out for s in log.service if s.lifeline == "gas"] == [0]


@pytest.mark.parametrize("leak, key", [
    (LeakSpec(t_s=60.0, pipe="G999999"), r"leaks\[0\]\.pipe"),
    (LeakSpec(t_s=60.0, zone="Z99", cause="lpg"), r"leaks\[0\]\.zone"),
    (LeakSpec(t_s=60.0, pipe="G1", zone="Z01"), r"leaks\[0\]"),
    (LeakSpec(t_s=60.0, pipe="G1", cause="meteor"), r"leaks\[0\]\.cause"),
])
def test_bad_leaks_name_the_key(leak: LeakSpec, key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        prepare(cfg_leak([leak]))


def test_random_leaks_are_drawn_and_reproducible() -> None:
    cfg = cfg_leak([])
    a, b = prepare(cfg).hazards, prepare(cfg).hazards
    assert a == b and sum(h.kind == "gas.leak" for h in a) >= 1


def test_a_run_whose_gas_ignites_writes_its_folder_and_report(city, tmp_path) -> None:
    from sim.runner import execute

    pipe = city.gas.pipe_ids[a_main_that_cuts_customers_off(city)[0]]
    cfg = cfg_leak([LeakSpec(t_s=3600.0, pipe=pipe)], ignition_prob=1.0,
                   ignition_delay=ServiceTime(dist="fixed", median_s=60.0))
    cfg.run.horizon_s = 6 * 3600.0
    summary = execute(prepare(cfg), tmp_path / "run")
    assert summary["status"] == "ok", summary.get("error")
    assert summary["metrics"]["n_incidents"] >= 2
    assert "gas fire" in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")


def test_gas_monitoring_detects_a_main_leak_sooner_with_the_same_leak(city) -> None:
    pipe = city.gas.pipe_ids[a_main_that_cuts_customers_off(city)[0]]
    base = cfg_leak([LeakSpec(t_s=3600.0, pipe=pipe)])
    p0, a = run(base)
    mon = cfg_leak([LeakSpec(t_s=3600.0, pipe=pipe)])
    mon.policy.interventions.gas_monitoring = True
    p1, b = run(mon)
    assert p0.hazards == p1.hazards
    ra = next(r for r in a.events if r.kind == "report" and r.scope == f"gas.pipe.{pipe}")
    rb = next(r for r in b.events if r.kind == "report" and r.scope == f"gas.pipe.{pipe}")
    assert rb.t_s < ra.t_s and rb.value < ra.value
