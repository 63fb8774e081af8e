"""Comparing options over replications: intervals, pairing, and the report a planner reads."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hydra import compose, initialize_config_module
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox
from omegaconf import OmegaConf
from scipy import stats

from analysis.collect import Collection, collect
from analysis.compare import Comparison, Precision, compare, main, parse_baseline, parse_precision
from analysis.compare_figures import difference_map_caption, difference_map_figure, map_panels
from analysis.compare_report import findings, report_context, write_comparison
from analysis.inference import (
    BOOTSTRAP_MIN_N,
    bootstrap_p_floor,
    bootstrap_rank,
    mean_interval,
    paired_difference,
    replications_needed,
    welch_difference,
    welch_dof_factor,
)
from analysis.metrics import Standards
from analysis.replicates import Replicates
from sim.config import Config, register_configs
from sim.runner import simulate

SEEDS = (0, 1, 2)
HORIZON = "run.horizon_s=21600"


# ------------------------------------------------------------------ inference
def correlated(n: int = 30, effect: float = -5.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Baseline values with a large spread across seeds, and an option that moves each by ``effect`` ± 1."""
    rng = np.random.default_rng(seed)
    base = rng.normal(300.0, 40.0, n)
    return base + effect + rng.normal(0.0, 1.0, n), base


def test_paired_interval_is_narrower_than_unpaired_on_the_same_data() -> None:
    x, b = correlated()
    d = paired_difference(x, b)
    assert d.paired.low < -5.0 < d.paired.high and d.paired.excludes_zero()
    assert d.unpaired.low < 0 < d.unpaired.high  # without pairing the effect is lost in the seed-to-seed spread
    assert d.paired.width < d.unpaired.width / 10
    assert d.paired.estimate == pytest.approx(d.unpaired.estimate)


def test_intervals_match_scipy() -> None:
    x, b = correlated(12)
    d = paired_difference(x, b)
    ci = stats.ttest_rel(x, b).confidence_interval(0.95)
    assert (d.paired.low, d.paired.high) == pytest.approx((ci.low, ci.high))
    assert d.p_value == pytest.approx(stats.ttest_rel(x, b).pvalue)
    w = welch_difference(x, b)
    ci = stats.ttest_ind(x, b, equal_var=False).confidence_interval(0.95)
    assert (w.low, w.high) == pytest.approx((ci.low, ci.high))
    m = mean_interval(x)
    assert (m.low, m.high) == pytest.approx(stats.t.interval(0.95, len(x) - 1, x.mean(), stats.sem(x)))


def test_an_option_against_itself_differs_by_exactly_zero() -> None:
    x, _ = correlated()
    for method in ("t", "bootstrap"):
        d = paired_difference(x, x.copy(), method=method)
        assert (d.paired.estimate, d.paired.low, d.paired.high) == (0.0, 0.0, 0.0)
        assert d.p_value == 1.0


def test_bootstrap_is_reproducible_and_close_to_t() -> None:
    x, b = correlated()
    one = paired_difference(x, b, method="bootstrap")
    assert one == paired_difference(x, b, method="bootstrap")
    t = paired_difference(x, b)
    assert one.paired.low == pytest.approx(t.paired.low, abs=0.25 * t.paired.width)
    assert one.paired.high == pytest.approx(t.paired.high, abs=0.25 * t.paired.width)
    assert one.p_value < 0.001


def test_bootstrap_over_few_seeds_is_refused_for_the_paired_t() -> None:
    # Three pairs all below zero: every resample mean is negative, so a percentile bootstrap would
    # claim p < 0.001 with its interval spanning just the smallest and largest difference.
    x, b = np.array([-600.0, -10.0, -400.0]), np.zeros(3)
    boot = paired_difference(x, b, method="bootstrap")
    t = paired_difference(x, b)
    assert boot.method == "t" and "fewer than the 10" in boot.note
    assert (boot.paired.low, boot.paired.high, boot.p_value) == (t.paired.low, t.paired.high, t.p_value)
    assert boot.paired.low < -600.0 and boot.paired.high > 0 and boot.p_value > 0.05
    assert not t.note and t.p_floor == 0.0


def test_bootstrap_from_the_minimum_seeds_is_close_to_t_on_normal_data() -> None:
    rng = np.random.default_rng(7)
    for n in (BOOTSTRAP_MIN_N, 40):
        d = rng.normal(-3.0, 10.0, n)
        boot = paired_difference(d, np.zeros(n), method="bootstrap")
        t = paired_difference(d, np.zeros(n))
        assert boot.method == "bootstrap" and not boot.note
        # Narrower than t by about z·√((n−1)/n) / t(n−1): 18 % at n = 10, 4 % at n = 40.
        shrink = 1.959964 * math.sqrt((n - 1) / n) / stats.t.ppf(0.975, n - 1)
        assert boot.paired.width == pytest.approx(shrink * t.paired.width, rel=0.06)
        assert (boot.paired.low + boot.paired.high) / 2 == pytest.approx(boot.paired.estimate,
                                                                           abs=0.05 * t.paired.width)


def test_bootstrap_p_value_is_no_finer_than_its_resamples() -> None:
    x, b = correlated(30)  # every difference is near −5: no resample mean reaches zero
    d = paired_difference(x, b, method="bootstrap", resamples=999)
    assert d.p_floor == pytest.approx(2 / 1000) and d.p_value == d.p_floor and d.p_at_floor()
    assert paired_difference(x, b, method="bootstrap").p_value == pytest.approx(2 / 10_001)
    assert bootstrap_p_floor(3, 1_000_000) == pytest.approx(2 / 27)  # 3³ ordered resamples: coarser than 2/(B+1)
    assert bootstrap_p_floor(30, 10_000) == pytest.approx(2 / 10_001)


#: Twelve paired differences whose 10 000 resample means (generator seed 0) put exactly 250 at or below
#: zero: the p-value 2 · 251 / 10 001 = 0.0502 sits on the edge of 5 %.
EDGE = np.array([2.084, 1.398, 1.673, 1.233, -0.067, 0.272, 1.507, -0.087, -0.521, 0.556, -1.218, -0.182])


def test_bootstrap_interval_and_p_value_agree_on_the_edge_of_significance() -> None:
    d = paired_difference(EDGE, np.zeros(EDGE.size), method="bootstrap", resamples=10_000, seed=0)
    assert d.method == "bootstrap" and d.n == 12
    assert d.p_value == pytest.approx(2 * 251 / 10_001) and d.p_value >= 0.05
    assert d.paired.low <= 0 < d.paired.high and not d.paired.excludes_zero()
    assert (d.paired.low, d.paired.high) == pytest.approx((-0.000333, 1.1075), abs=1e-4)


def test_bootstrap_verdict_and_p_value_agree_on_random_small_samples() -> None:
    # "The interval excludes 0" and "p < α" are the same event, whatever the sample, seed, B and level.
    agree = detected = 0
    for sample in range(60):
        rng = np.random.default_rng(1000 + sample)
        n = int(rng.integers(BOOTSTRAP_MIN_N, 21))
        d = rng.normal(rng.uniform(0.0, 1.0), 1.0, n).round(int(rng.integers(1, 4)))
        for seed, resamples, level in ((0, 999, 0.95), (1, 2_000, 0.95), (2, 10_000, 0.95), (3, 1_000, 0.9)):
            r = paired_difference(d, np.zeros(n), level=level, method="bootstrap", resamples=resamples, seed=seed)
            assert r.p_floor < round(1 - level, 12)
            assert r.paired.excludes_zero() == (r.p_value < round(1 - level, 12)), (sample, seed, r)
            agree += 1
            detected += r.paired.excludes_zero()
    assert agree == 240 and 20 < detected < 220  # both verdicts occur


def test_bootstrap_rank_is_the_largest_order_statistic_below_alpha() -> None:
    assert bootstrap_rank(0.95, 10_000) == 249  # the 250th smallest and largest of 10 000
    assert bootstrap_rank(0.95, 999) == 23  # 2 · 25 / 1000 = 0.05 is not below 5 %
    assert bootstrap_rank(0.90, 10_000) == 499
    assert bootstrap_rank(0.95, 40) == 0
    with pytest.raises(ValueError, match="use at least 40"):
        bootstrap_rank(0.95, 39)
    with pytest.raises(ValueError, match="resamples"):
        paired_difference(EDGE, np.zeros(EDGE.size), method="bootstrap", resamples=20)


def test_bootstrap_p_has_its_floor_when_every_pair_differs_by_the_same_amount() -> None:
    b = np.linspace(100.0, 140.0, 12)
    d = paired_difference(b - 5, b, method="bootstrap")
    assert (d.paired.estimate, d.paired.low, d.paired.high) == (-5.0, -5.0, -5.0)
    assert d.p_floor == pytest.approx(2 / 10_001) and d.p_value == d.p_floor and d.p_at_floor()
    assert paired_difference(b - 5, b, method="bootstrap", resamples=999).p_value == pytest.approx(2 / 1000)
    same = paired_difference(b, b.copy(), method="bootstrap")
    assert same.p_value == 1.0 and same.p_floor == pytest.approx(2 / 10_001)
    t = paired_difference(b - 5, b)
    assert t.p_value == 0.0 and t.p_floor == 0.0  # the t-test resolves any p


def test_pairs_with_a_missing_value_are_dropped() -> None:
    d = paired_difference([1.0, np.nan, 3.0, 5.0], [0.0, 1.0, 2.0, 3.0])
    assert d.n == 3 and d.paired.estimate == pytest.approx((1 + 1 + 2) / 3)
    assert math.isnan(paired_difference([1.0], [0.0]).paired.low)


def test_replications_needed_meets_the_target_and_no_fewer_would() -> None:
    for sd, h in ((10.0, 2.0), (40.0, 5.0), (1.0, 3.0)):
        n = replications_needed(sd, h)
        assert n is not None and n >= 2
        assert stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n) <= h
        if n > 2:
            assert stats.t.ppf(0.975, n - 2) * sd / math.sqrt(n - 1) > h
    assert replications_needed(0.0, 1.0) == 2 and replications_needed(float("nan"), 1.0) is None


def test_unpaired_replications_match_the_welch_interval_at_that_n() -> None:
    """The unpaired count is the n per option at which the Welch interval reaches the target."""
    rng = np.random.default_rng(5)
    for sx, sb, h in ((10.0, 10.0, 8.0), (10.0, 3.0, 6.0), (30.0, 25.0, 18.5)):
        n = replications_needed(math.hypot(sx, sb), h, dof_factor=welch_dof_factor(sx, sb))
        assert n is not None

        def half(k: int, sx: float = sx, sb: float = sb) -> float:  # Welch interval, samples of these spreads
            x, b = rng.standard_normal(k), rng.standard_normal(k)
            x = (x - x.mean()) / x.std(ddof=1) * sx
            b = (b - b.mean()) / b.std(ddof=1) * sb
            return welch_difference(x, b).half_width

        assert half(n) <= h + 1e-9 and (n == 2 or half(n - 1) > h)
    assert welch_dof_factor(1.0, 1.0) == pytest.approx(2.0) and welch_dof_factor(1.0, 0.0) == pytest.approx(1.0)


def test_parsing_arguments() -> None:
    assert parse_baseline(["policy=baseline", "city.ambulance.people_per_ambulance=30000"]) == {
        "policy": "baseline", "city.ambulance.people_per_ambulance": "30000"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_baseline(["baseline"])
    p = parse_precision(["2%", "response_p90_s=10"])
    assert p.target("water_customer_hours_lost", -500.0) == pytest.approx(10.0)
    assert p.target("response_p90_s", 300.0) == 10.0 and p.target("x", 0.0) is None


# ------------------------------------------------------------ on a table
def table(effect: float = -5.0, seeds: int = 30) -> Collection:
    x, b = correlated(seeds, effect)
    rows = []
    for policy, values in (("baseline", b), ("pressure_monitoring", x)):
        for s, v in enumerate(values):
            rows.append({"sweep": "m", "run": f"m/{policy}/{s}", "job": 0, "status": "ok", "error": "",
                         "policy": policy, "seed": s, "scenario": "pipe_burst", "hazards_digest": f"h{s}",
                         "calls_digest": f"c{s}", "response_p90_s": v, "water_customer_hours_lost": 2 * v})
    rows.append({"sweep": "m", "run": "m/x", "status": "failed", "error": "boom", "policy": "baseline", "seed": 99})
    return Collection(pd.DataFrame(rows), axes=["policy", "seed", "scenario"],
                      metrics=["response_p90_s", "water_customer_hours_lost"])


def test_compare_pairs_by_seed_and_checks_common_random_numbers() -> None:
    cmp = compare(table(), {"policy": "baseline"})
    assert cmp.by == ["policy"] and cmp.pair_on == ["seed"] and cmp.options == ["baseline", "pressure_monitoring"]
    res = cmp.result("response_p90_s")
    d = res.differences["pressure_monitoring"]
    assert d.n == 30 and d.paired.excludes_zero() and d.paired.width < d.unpaired.width
    assert cmp.crn == {"pressure_monitoring": {"hazards": (30, 30), "calls": (30, 30)}}
    assert res.needed_paired["pressure_monitoring"] < res.needed_unpaired["pressure_monitoring"]
    assert cmp.replications == {"baseline": 30, "pressure_monitoring": 30}
    assert cmp.fractile is None  # no summary.json to read it from
    assert cmp.label("nfpa_travel_fractile_s")[0].endswith("value at the standards' fractile of the measure")


def test_common_random_numbers_are_checked_per_option_against_the_baseline() -> None:
    coll = table(seeds=4)
    rows = coll.table[(coll.table["policy"] == "pressure_monitoring")].copy()
    prevent = rows.assign(policy="charging_piles", run=rows["run"].str.replace("pressure", "piles"),
                          hazards_digest="thinned" + rows["seed"].astype(str))  # other hazards, same calls
    prevent.loc[prevent["seed"] == 3, "hazards_digest"] = "h3"  # one seed where no hazard was prevented
    coll = Collection(pd.concat([coll.table, prevent], ignore_index=True), coll.axes, coll.metrics)
    cmp = compare(coll, {"policy": "baseline"}, metrics=["response_p90_s"])
    assert cmp.crn == {"charging_piles": {"hazards": (1, 4), "calls": (4, 4)},
                       "pressure_monitoring": {"hazards": (4, 4), "calls": (4, 4)}}
    text = report_context(cmp)["crn"]
    assert "pressure_monitoring: identical hazards and background calls in 4 of 4 pairs." in text
    assert "charging_piles: identical hazards in 1 of 4, identical background calls in 4 of 4 pairs." in text
    assert "charging_piles did not always meet the baseline's inputs" in text
    assert "pressure_monitoring did not" not in text and "pressure_monitoring, " not in text


def test_compare_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="matches 0 options"):
        compare(table(), {"policy": "nope"})
    with pytest.raises(ValueError, match="no such column"):
        compare(table(), {"polcy": "baseline"})
    with pytest.raises(ValueError, match="not a headline metric"):
        compare(table(), {"policy": "baseline"}, metrics=["nope"])
    with pytest.raises(ValueError, match="--method"):
        compare(table(), method="anova")
    with pytest.raises(ValueError, match="use at least 40"):
        compare(table(), {"policy": "baseline"}, method="bootstrap", resamples=20)


def test_a_bootstrap_report_on_three_seeds_says_it_used_t() -> None:
    cmp = compare(table(seeds=3), {"policy": "baseline"}, metrics=["response_p90_s"], method="bootstrap")
    d = cmp.result("response_p90_s").differences["pressure_monitoring"]
    line = findings(cmp)[0]
    assert "paired t, 3 seeds; bootstrap refused: fewer than the 10 seeds it needs" in line
    assert d.p_value == pytest.approx(0.018, abs=0.001) and "p = 0.02)" in line and "p < 0.001" not in line
    assert any("3 paired seeds are fewer than the 10" in n for n in cmp.notes)
    ctx = report_context(cmp)
    assert dict(ctx["facts"])["Intervals"] == "95 %, paired t (bootstrap asked for; refused below 10 paired seeds)"
    assert not ctx["bootstrap"]


def test_one_run_per_option_is_not_called_paired() -> None:
    cmp = compare(table(seeds=1), {"policy": "baseline"}, metrics=["response_p90_s"])
    assert cmp.pair_on == []
    line = findings(cmp)[0]
    assert "nothing to pair on: no interval" in line and "paired replication" not in line
    assert dict(report_context(cmp)["facts"])["Paired on"] == "nothing (unpaired)"


def test_a_bootstrap_report_prints_p_at_its_resolution() -> None:
    cmp = compare(table(), {"policy": "baseline"}, metrics=["response_p90_s"], method="bootstrap", resamples=999)
    line = findings(cmp)[0]
    assert "percentile bootstrap of the paired differences, 30 seeds; p ≤ 0.002)" in line
    assert report_context(cmp)["effects"][0]["rows"][0]["p"] == "≤ 0.002"


def edge_table() -> Collection:
    rows = []
    for s, v in enumerate(EDGE):
        for policy, value in (("baseline", 300.0 + 7 * s), ("pressure_monitoring", 300.0 + 7 * s + v)):
            rows.append({"sweep": "m", "run": f"m/{policy}/{s}", "job": 0, "status": "ok", "error": "",
                         "policy": policy, "seed": s, "scenario": "pipe_burst", "response_p90_s": value})
    return Collection(pd.DataFrame(rows), axes=["policy", "seed", "scenario"], metrics=["response_p90_s"])


def test_a_bootstrap_report_does_not_call_p_of_0_05_a_detected_effect(tmp_path: Path) -> None:
    cmp = compare(edge_table(), {"policy": "baseline"}, metrics=["response_p90_s"], method="bootstrap")
    d = cmp.result("response_p90_s").differences["pressure_monitoring"]
    assert d.p_value == pytest.approx(2 * 251 / 10_001, abs=1e-6)
    line = findings(cmp)[0]
    assert "raises" not in line and "no difference detectable" in line, line
    row = report_context(cmp)["effects"][0]["rows"][0]
    assert row["p"] == "0.05" and not row["significant"]
    files = write_comparison(cmp, tmp_path, figures=False)
    assert "interval excludes zero exactly when p < 0.05" in " ".join(files["md"].read_text().split())
    assert "interval excludes zero exactly when p &lt; 0.05" in files["html"].read_text()


def test_a_bootstrap_report_of_a_constant_difference_gives_p_at_its_floor() -> None:
    coll = table(seeds=12)
    t = coll.table
    base = t[(t["policy"] == "baseline") & (t["status"] == "ok")]
    option = base.assign(policy="pressure_monitoring", run=base["run"].str.replace("baseline", "pm"),
                         response_p90_s=base["response_p90_s"] - 5)
    coll = Collection(pd.concat([base, option], ignore_index=True), coll.axes, coll.metrics)
    cmp = compare(coll, {"policy": "baseline"}, metrics=["response_p90_s"], method="bootstrap", resamples=999)
    d = cmp.result("response_p90_s").differences["pressure_monitoring"]
    assert d.p_value == d.p_floor == pytest.approx(2 / 1000)
    assert "p ≤ 0.002)" in findings(cmp)[0]
    assert report_context(cmp)["effects"][0]["rows"][0]["p"] == "≤ 0.002"


def test_the_default_baseline_is_policy_baseline() -> None:
    cmp = compare(table(), precision=Precision(0.01))
    assert cmp.baseline == "baseline" and not cmp.notes


# ----------------------------------------------------------- on real runs
def config(overrides: list[str]) -> Config:
    register_configs()
    with initialize_config_module(config_module="conf", version_base="1.3"):
        cfg = OmegaConf.to_object(compose(config_name="config", overrides=overrides))
    assert isinstance(cfg, Config)
    return cfg


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Baseline and pressure monitoring on three burst mornings, and the baseline once more in ``again/``."""
    root = tmp_path_factory.mktemp("compare")
    for folder, policy in (("sweep", "baseline"), ("sweep", "pressure_monitoring"), ("again", "baseline")):
        for s in SEEDS:
            simulate(config([f"policy={policy}", f"seed={s}", HORIZON, "run.report=false"]),
                     root / folder / f"{policy}_{s}")
    return root


@pytest.fixture(scope="module")
def report(runs: Path) -> Path:
    out = runs / "report"
    code = main([str(runs / "sweep"), "--baseline", "policy=baseline", "--metric", "water_customer_hours_lost",
                 "--metric", "response_p90_s", "-o", str(out)])
    assert code == 0
    return out


def test_policies_on_the_same_seeds_are_paired(runs: Path) -> None:
    cmp = compare(collect([runs / "sweep"]), {"policy": "baseline"}, metrics=["water_customer_hours_lost"])
    assert cmp.crn == {"pressure_monitoring": {"hazards": (3, 3), "calls": (3, 3)}}
    d = cmp.result("water_customer_hours_lost").differences["pressure_monitoring"]
    assert d.n == 3 and d.paired.width < d.unpaired.width / 2
    # The runs' summary.json give standards.fractile 0.9, so the value at the fractile is named p90.
    assert cmp.fractile == 0.9
    assert cmp.label("gb51080_fractile_s")[0] == "GB 51080 dispatch to arrival ≤ 5 min (fire, rescue): p90 of the measure"


def test_a_policy_compared_with_itself_differs_by_exactly_zero(runs: Path) -> None:
    coll = collect([runs / "sweep", runs / "again"])
    cmp = compare(coll, {"sweep": str(runs / "sweep")}, by=["sweep"], metrics=["response_p90_s",
                                                                              "water_customer_hours_lost"])
    assert sorted(cmp.pair_on) == ["policy", "seed"]
    assert cmp.replications == {str(runs / "sweep"): 6, str(runs / "again"): 3}
    for res in cmp.results:
        d = res.differences[str(runs / "again")]
        assert d.n == 3 and (d.paired.estimate, d.paired.low, d.paired.high) == (0.0, 0.0, 0.0)


def test_report_files(report: Path) -> None:
    for name in ("compare.html", "compare.md", "runs.csv", "effects.csv", "means.csv"):
        assert (report / name).is_file(), name
    figs = sorted(p.name for p in (report / "figures").glob("*.png"))
    assert figs == ["effects.png", "map.png", "means.png", "response_cdf.png", "service.png"]
    eff = pd.read_csv(report / "effects.csv")
    assert list(eff["metric"]) == ["water_customer_hours_lost", "response_p90_s"]
    md = (report / "compare.md").read_text()
    assert "## Differences from the baseline (baseline)" in md and "95 % CI, paired" in md
    assert "paired t" in md and "![Where outcomes differ](figures/map.png)" in md
    html = (report / "compare.html").read_text()
    assert 'src="data:image/png;base64,' in html and "<script" not in html and 'src="figures' not in html
    assert not list(report.rglob("*.tmp"))


def test_cli_exit_codes(runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(runs / "sweep"), "--baseline", "policy=nope", "-o", str(runs / "x")]) == 2
    assert "matches 0 options" in capsys.readouterr().err
    assert main([str(runs / "empty")]) == 1


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# Runs in the page after load and leaves what the browser actually shows in a <pre>.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.querySelectorAll('figure img')];
  const rows = (id) => { const t = document.getElementById(id); return t ? t.querySelectorAll('tbody tr').length : -1; };
  const out = {images: imgs.length, decoded: imgs.filter((i) => i.complete && i.naturalWidth > 600).length,
               effects: rows('effects'), means: rows('means'), precision: rows('precision'),
               lead: document.getElementById('lead').innerText};
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def test_report_renders_in_headless_chromium(report: Path) -> None:
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found (apt-get install chromium): the rendering check is skipped")
    page = report / "probe.html"
    page.write_text((report / "compare.html").read_text().replace("</body>", PROBE + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    found = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout)
    assert found, out.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["images"] == 5 and probe["decoded"] == 5
    # effects: a section row and a row per option for each metric; means: a row per metric.
    assert probe["effects"] == 4 and probe["means"] == 2 and probe["precision"] == 2
    assert "pressure_monitoring" in probe["lead"] and "95 % CI" in probe["lead"]


# ------------------------------------------------------- map of differences
def many_options(names: tuple[str, ...], bursts: bool) -> tuple[Comparison, Replicates]:
    """A comparison of ``names`` against the baseline on two seeds, and the paired changes by place."""
    rows = [{"sweep": "m", "run": f"m/{p}/{s}", "job": 0, "status": "ok", "error": "", "policy": p, "seed": s,
             "hazards_digest": f"h{s}", "calls_digest": f"c{s}", "response_p90_s": 300.0 + i + s}
            for i, p in enumerate(("baseline", *names)) for s in (0, 1)]
    cmp = compare(Collection(pd.DataFrame(rows), axes=["policy", "seed"], metrics=["response_p90_s"]))
    rng = np.random.default_rng(3)
    xy = rng.uniform(0.0, 7000.0, (40, 2))
    calls = pd.DataFrame([{"option": o, "x_m": x, "y_m": y, "delta_s": float(rng.normal(0, 60))}
                          for o in cmp.others for x, y in xy])
    hits = pd.DataFrame([{"option": o, "x_m": x, "y_m": y, "delta_h": float(rng.normal(0, 1))}
                         for o in cmp.others for x, y in xy[:5]] if bursts else [],
                        columns=["option", "x_m", "y_m", "delta_h"])
    rep = Replicates(86400.0, np.arange(0.0, 86400.0, 60.0), Standards.of(None), incidents=calls, bursts=hits,
                     extent_m=(0.0, 8000.0, 0.0, 7000.0))
    return cmp, rep


def titles(fig: Figure) -> list[tuple[str, Bbox]]:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    # Matplotlib keeps a left-aligned title in its own Text, beside the centred ``ax.title``.
    return [(ax.get_title(loc="left"), ax._left_title.get_window_extent(renderer)) for ax in fig.axes
            if ax.get_visible() and ax.get_title(loc="left")]


@pytest.mark.parametrize("bursts", [False, True])
def test_map_titles_do_not_overlap_with_four_options(bursts: bool) -> None:
    cmp, rep = many_options(("alarm_maintenance", "charging_piles", "sprinklers", "street_stations"), bursts)
    fig = difference_map_figure(rep, cmp)
    shown = titles(fig)
    assert len(shown) == (8 if bursts else 4)
    width = fig.get_figwidth() * fig.dpi
    for i, (text, box) in enumerate(shown):
        assert 0 <= box.x0 and box.x1 <= width, text
        for other, box2 in shown[i + 1:]:
            assert not box.overlaps(box2), (text, other)


def test_map_caption_names_the_panels_drawn() -> None:
    cmp, rep = many_options(("alarm_maintenance", "charging_piles", "sprinklers", "street_stations"), False)
    text = difference_map_caption(rep, cmp)
    assert text.startswith("One panel per option: mean change in total response") and "Right" not in text
    assert "break to its repair" not in text
    cmp, rep = many_options(("pressure_monitoring",), True)
    text = difference_map_caption(rep, cmp)
    assert "Left: mean change in total response" in text and "Right: change in the hours from a main's break" in text
    names = ("a", "b", "c", "d", "e", "f")
    cmp, rep = many_options(names, False)
    assert map_panels(rep, cmp) == (["a", "b", "c", "d"], False, ["e", "f"])
    assert difference_map_caption(rep, cmp).endswith("Not drawn (at most 4 options): e, f.")
    assert [t for t, _ in titles(difference_map_figure(rep, cmp))] == ["a", "b", "c", "d"]


def test_the_report_caption_follows_the_map(report: Path) -> None:
    md = (report / "compare.md").read_text()
    caption = md.split("![Where outcomes differ](figures/map.png)")[1].strip().splitlines()[0]
    assert caption.startswith("One row per option. Left: mean change in total response")
    assert "Right: change in the hours from a main's break to its repair" in caption


def test_a_sweep_over_city_seed_pairs_on_it_and_labels_it_apart_from_the_seed() -> None:
    """``city.seed`` numbers replications (one city each), like ``seed``; both named in full when side by side."""
    rows = [{"sweep": "m", "run": f"m/{p}/{s}/{c}", "job": 0, "status": "ok", "error": "", "policy": p, "seed": s,
             "city.seed": c, "hazards_digest": f"h{s}{c}", "calls_digest": f"c{s}{c}",
             "response_p90_s": 300.0 + 10 * c + s - (5.0 if p == "pressure_monitoring" else 0.0)}
            for p in ("baseline", "pressure_monitoring") for s in (0, 1) for c in (0, 1, 2)]
    coll = Collection(pd.DataFrame(rows), axes=["city.seed", "policy", "seed"], metrics=["response_p90_s"])
    cmp = compare(coll, baseline={"policy": "baseline"})
    assert cmp.by == ["policy"] and sorted(cmp.pair_on) == ["city.seed", "seed"]
    (d,) = cmp.results[0].differences.values()
    assert d.n == 6 and d.paired.estimate == pytest.approx(-5.0) and d.paired.high - d.paired.low < 1e-9
    by_both = compare(coll, by=["seed", "city.seed"], baseline={"seed": "0", "city.seed": "0"})
    assert "seed=0, city.seed=1" in by_both.options
    from analysis.compare import _options

    frame = pd.DataFrame(rows)
    assert list(_options(frame, ["policy", "city.seed"]))[:2] == ["policy=baseline, city.seed=0",
                                                                  "policy=baseline, city.seed=1"]
