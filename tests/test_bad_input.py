"""The bad-input corpus: every case stops before simulating, with a message naming the key (and file:line).

Most cases compose the config and call :func:`sim.runner.prepare` in process
(what the CLI does before it writes anything); a few run the real CLI to
check the exit status, that no run folder that looks like a result is left,
and that earlier results are not touched. A case passes when the error is
one of the clean kinds (:class:`~sim.config.ConfigError`, or Hydra's and
OmegaConf's own for typos, types and unknown options), never another
exception, and its message names what it should.
"""

from __future__ import annotations

import ast
import hashlib
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from sim.config import Config, ConfigError
from sim.runner import prepare
from tests.test_config import make

FIX = Path(__file__).parent / "fixtures"
INP = (FIX / "small.inp").read_text()
NET = (FIX / "grid_net.tntp").read_text()
NODES = (FIX / "grid_node.tntp").read_text()
GML = (FIX / "town.graphml").read_text()
CLEAN = (ConfigError, HydraException, OmegaConfBaseException)


def sub(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def links(text: str, n: int) -> str:
    return __import__("re").sub(r"<NUMBER OF LINKS> \d+", f"<NUMBER OF LINKS> {n}", text)


@dataclass
class Case:
    id: str
    overrides: list[str]
    key: str  # the key the message must name
    says: str = ""  # and this
    files: dict[str, str | bytes | Callable[[], str | bytes]] = field(default_factory=dict)
    line: tuple[str, str] | None = None  # (file, text of the offending line): the message names file:line


def roads(name: str) -> list[str]:
    return ["city=from_files", f"city.roads_file={{{name}}}"]


def water(name: str) -> list[str]:
    return ["city=from_files", f"city.water_file={{{name}}}"]


NO_SOURCE = INP.split("[RESERVOIRS]")[0] + "[PIPES]\n P1 J1 J2 400 300 120 0 Open\n P2 J2 J3 300 200 100 0 Open\n[END]\n"
ISLAND = links(NET, 27) + "\t10\t11\t1800\t500\t0.5\t0.15\t4\t0\t0\t1\t;\n\t11\t10\t1800\t500\t0.5\t0.15\t4\t0\t0\t1\t;\n"
STUB = links(NET, 26) + "\t9\t10\t1800\t500\t0.5\t0.15\t4\t0\t0\t1\t;\n"
ENTITY = ('<?xml version="1.0"?>\n<!DOCTYPE g [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n'
          '<graphml><graph><node id="1"><data key="x">&b;</data></node></graph></graphml>\n')

CASES = [
    # --- config: typos, types, ranges, names
    Case("typo_key", ["city.popluation=5"], "city.popluation"),
    Case("typo_nested_key", ["run.horizon=100"], "run.horizon"),
    Case("typo_in_file_option", ["city=from_files", "city.water_fille=x.inp"], "city.water_fille"),
    Case("wrong_type_int", ["city.population=abc"], "city.population"),
    Case("wrong_type_float", ["run.horizon_s=soon"], "run.horizon_s"),
    Case("wrong_type_bool", ["run.report=perhaps"], "run.report"),
    Case("negative_rate", ["calls.per_1000_per_day.medical=-1"], "calls.per_1000_per_day.medical"),
    Case("nan_rate", ["scenario.pipe_burst.rate_per_100km_yr.CI=nan"], "scenario.pipe_burst.rate_per_100km_yr.CI"),
    Case("inf_multiplier", ["scenario.pipe_burst.rate_multiplier=inf"], "scenario.pipe_burst.rate_multiplier"),
    Case("horizon_zero", ["run.horizon_s=0"], "run.horizon_s"),
    Case("negative_seed", ["seed=-1"], "seed"),
    Case("negative_city_seed", ["city.seed=-2"], "city.seed"),
    Case("wrong_type_city_seed", ["city.seed=first"], "city.seed"),
    Case("bad_start_time", ["run.start=yesterday"], "run.start"),
    Case("unknown_scenario_option", ["scenario=flood"], "scenario", "pipe_burst"),
    Case("unknown_policy_option", ["policy=nope"], "policy", "baseline"),
    Case("unknown_scenario_name", ["scenario.name=flood"], "scenario.name", "pipe_burst"),
    Case("unknown_city_kind", ["city.kind=moon"], "city.kind", "from_files"),
    Case("unknown_dispatch_rule", ["policy.dispatch.rule=random"], "policy.dispatch.rule"),
    Case("bad_choice", ["city=from_files", "city.water_align=rotate"], "city.water_align", "bbox"),
    Case("zero_demand_per_customer", ["city=from_files", "city.water_m3_per_customer_day=0"],
         "city.water_m3_per_customer_day"),
    Case("station_on_missing_node", ["city.fire.station_nodes=[0,99999]"], "city.fire.station_nodes[1]"),
    Case("station_on_missing_file_node", [*roads("net_net.tntp"), "city.fire.station_nodes=[42]"],
         "city.fire.station_nodes[0]", "net_net.tntp", files={"net_net.tntp": NET, "net_node.tntp": NODES}),
    Case("burst_on_missing_pipe", [*water("small.inp"), "scenario.pipe_burst.bursts=[{pipe: NOPE, t_s: 100}]"],
         "scenario.pipe_burst.bursts[0].pipe", files={"small.inp": INP}),
    Case("from_files_without_files", ["city=from_files"], "city.roads_file", "needs"),
    Case("missing_file", ["city=from_files", "city.roads_file=/nonexistent/roads.graphml"], "city.roads_file",
         "no such file"),
    Case("file_on_district", ["city.water_file={small.inp}"], "city.water_file", "from_files", files={"small.inp": INP}),
    Case("unknown_roads_format", roads("roads.csv"), "city.roads_format", files={"roads.csv": "a,b\n1,2\n"}),
    # --- counts, ranges and names a run would crash on or silently ignore
    Case("no_water_depot", ["city.water.n_depots=0"], "city.water.n_depots"),
    Case("no_gas_depot", ["city.gas.n_depots=0"], "city.gas.n_depots"),
    Case("no_ambulance_station", ["city.ambulance.n_stations=0"], "city.ambulance.n_stations"),
    Case("zero_people_per_ambulance", ["city.ambulance.people_per_ambulance=0"], "city.ambulance.people_per_ambulance"),
    Case("no_fire_station", ["city.fire.max_stations=0"], "city.fire.max_stations"),
    Case("install_years_reversed", ["city.water.install_year_min=2030", "city.water.install_year_max=1990"],
         "city.water.install_year_max", "install_year_min=2030"),
    Case("more_zones_than_corners", ["city.n_zones=5000"], "city.n_zones"),
    Case("city_smaller_than_a_block", ["city.width_km=0.1", "city.height_km=0.1"], "city.block_m", "blocks"),
    Case("block_larger_than_the_city", ["city.block_m=20000"], "city.block_m", "blocks"),
    Case("flood_run_card_unit_typo", ["scenario=waterlogging", "+scenario.waterlogging.trapped.run_card.rescu=1"],
         "scenario.waterlogging.trapped.run_card.rescu", "no such unit kind"),
    Case("second_alarm_unit_typo", ["+policy.fire.second_alarm.engin=2"], "policy.fire.second_alarm.engin",
         "no such unit kind"),
    Case("timezone_folder", ["run.timezone=Asia"], "run.timezone", "IANA"),
    Case("metro_smaller_than_a_block", ["city=metro", "city.width_km=0.3", "city.height_km=0.3"], "city.block_m",
         "blocks"),
    Case("run_card_unit_typo", ["+policy.dispatch.run_cards.medical.ambulanc=1"],
         "policy.dispatch.run_cards.medical.ambulanc", "no such unit kind"),
    Case("roster_kind_typo", ["+policy.shifts={watr_crew: {day_start_h: 8, day_end_h: 20, night_share: 0}}"],
         "policy.shifts.watr_crew", "no such unit kind"),
    Case("burst_window_after_horizon", ["scenario.pipe_burst.window_start_s=90000",
                                        "scenario.pipe_burst.window_end_s=95000"],
         "scenario.pipe_burst.window_start_s", "no hazard could happen"),
    Case("storm_after_horizon", ["scenario=waterlogging", "run.horizon_s=3600"],
         "scenario.waterlogging.storm.start_s", "57600"),
    Case("unknown_timezone", ["run.timezone=Mars/Olympus"], "run.timezone", "IANA"),
    Case("same_main_twice", ["scenario.pipe_burst.bursts=[{pipe: P1, t_s: 100}, {pipe: P1, t_s: 200}]"],
         "scenario.pipe_burst.bursts[1].pipe", "listed already at scenario.pipe_burst.bursts[0]"),
    Case("same_substation_twice", ["scenario=power_outage",
                                   "scenario.power_outage.faults=[{component: power.substation.S2, t_s: 3600},"
                                   " {component: power.substation.S2, t_s: 4000}]"],
         "scenario.power_outage.faults[1].component", "listed already"),
    # --- network files: connectivity, sources
    Case("disconnected_roads", roads("net_net.tntp"), "city.roads_file", "not connected",
         files={"net_net.tntp": ISLAND, "net_node.tntp": NODES + "10\t3000\t0\t;\n11\t3500\t0\t;\n"}),
    Case("one_way_dead_end", [*roads("net_net.tntp"), "city.roads_components=error"], "city.roads_file", "not connected",
         files={"net_net.tntp": STUB, "net_node.tntp": NODES + "10\t1500\t1500\t;\n"}),
    Case("water_without_source", water("small.inp"), "city.water_file", "no source", files={"small.inp": NO_SOURCE}),
    # --- truncated, binary, empty, not the format
    Case("truncated_epanet", water("small.inp"), "city.water_file", "truncated",
         files={"small.inp": INP.split("[PUMPS]")[0]}, line=("small.inp", " P8 ")),
    Case("truncated_tntp", roads("net_net.tntp"), "city.roads_file", "25 links but the file has 20",
         files={"net_net.tntp": "\n".join(NET.splitlines()[:-5]) + "\n", "net_node.tntp": NODES}),
    Case("truncated_graphml", roads("town.graphml"), "city.roads_file", "not well-formed",
         files={"town.graphml": GML[: len(GML) * 2 // 3]}),
    Case("binary_roads", roads("town.graphml"), "city.roads_file", "binary",
         files={"town.graphml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))}),
    Case("binary_water", water("small.inp"), "city.water_file", "binary",
         files={"small.inp": lambda: np.random.default_rng(1).integers(128, 256, 4000).astype(np.uint8).tobytes()
                + b"\x01\x02"}),
    Case("empty_roads", roads("town.graphml"), "city.roads_file", "empty", files={"town.graphml": ""}),
    Case("blank_water", water("small.inp"), "city.water_file", "empty", files={"small.inp": "\n  \r\n\t\n"}),
    Case("tntp_not_tntp", roads("net_net.tntp"), "city.roads_file", "not a TNTP network file",
         files={"net_net.tntp": "from,to,length\n1,2,300\n"}),
    Case("epanet_not_epanet", water("small.inp"), "city.water_file", "before the first [SECTION]",
         files={"small.inp": GML}, line=("small.inp", "<?xml")),
    Case("epanet_unknown_section", water("small.inp"), "city.water_file", "unknown section",
         files={"small.inp": sub(INP, "[JUNCTIONS]", "[JUNCTONS]")}, line=("small.inp", "[JUNCTONS]")),
    Case("graphml_entity_expansion", roads("town.graphml"), "city.roads_file", "entity declarations", files={"town.graphml": ENTITY}),
    # --- wrong coordinates
    Case("graphml_coordinate_not_a_number", roads("town.graphml"), "city.roads_file", "x is not a number",
         files={"town.graphml": sub(GML, "<data key=\"d2\">118.7832</data>", "<data key=\"d2\">east</data>")},
         line=("town.graphml", '<node id="102">')),
    Case("latitude_out_of_range", roads("town.graphml"), "city.roads_file", "not a longitude/latitude pair",
         files={"town.graphml": sub(GML, "<data key=\"d1\">32.0427</data>", "<data key=\"d1\">123.0427</data>")},
         line=("town.graphml", '<node id="103">')),
    Case("tntp_coordinate_nan", roads("net_net.tntp"), "city.roads_file", "not finite",
         files={"net_net.tntp": NET, "net_node.tntp": sub(NODES, "5\t500.0\t500.0", "5\tnan\t500.0")},
         line=("net_node.tntp", "5\tnan")),
    Case("tntp_node_without_coordinates", roads("net_net.tntp"), "city.roads_file", "node 9",
         files={"net_net.tntp": NET, "net_node.tntp": sub(NODES, "9\t1000.0\t1000.0\t;\n", "")}),
    Case("epanet_node_without_coordinates", water("small.inp"), "city.water_file", "no [COORDINATES]",
         files={"small.inp": sub(INP, " J5    400      -300\n", "")}, line=("small.inp", " J5   10")),
    Case("epanet_coordinate_inf", water("small.inp"), "city.water_file", "not a finite number",
         files={"small.inp": sub(INP, " J5    400      -300", " J5    inf      -300")}, line=("small.inp", " J5    inf")),
    # --- duplicate ids, dangling references, impossible values
    Case("epanet_duplicate_junction", water("small.inp"), "city.water_file", "duplicate node id 'J2'",
         files={"small.inp": sub(INP, " J3   11     1.5\n", " J3   11     1.5\n J2   12     1.0 ; again\n")},
         line=("small.inp", "; again")),
    Case("epanet_duplicate_pipe", water("small.inp"), "city.water_file", "duplicate link id 'P2'",
         files={"small.inp": sub(INP, " P3   J4", " P2   J4")}, line=("small.inp", " P2   J4")),
    Case("epanet_pipe_to_nowhere", water("small.inp"), "city.water_file", "'J99' is not defined",
         files={"small.inp": sub(INP, " P4   J5     J6", " P4   J5     J99")}, line=("small.inp", "J99")),
    Case("epanet_negative_length", water("small.inp"), "city.water_file", "must be > 0",
         files={"small.inp": sub(INP, " P5   J6     J1     300", " P5   J6     J1     -300")}, line=("small.inp", "-300")),
    Case("tntp_duplicate_node", roads("net_net.tntp"), "city.roads_file", "duplicate node 5",
         files={"net_net.tntp": NET, "net_node.tntp": NODES + "5\t9.0\t9.0\t;\n"}, line=("net_node.tntp", "5\t9.0")),
    Case("tntp_node_not_a_number", roads("net_net.tntp"), "city.roads_file", "must be integers",
         files={"net_net.tntp": sub(NET, "\t1\t2\t1800", "\tone\t2\t1800"), "net_node.tntp": NODES},
         line=("net_net.tntp", "\tone\t2")),
    Case("graphml_duplicate_node", roads("town.graphml"), "city.roads_file", "duplicate node id '102'",
         files={"town.graphml": sub(GML, '<node id="103">', '<node id="102">')}, line=("town.graphml", '<node id="102">\n      <data key="d1">32.0427')),
    Case("graphml_edge_to_missing_node", roads("town.graphml"), "city.roads_file", "'999' does not exist",
         files={"town.graphml": sub(GML, '<edge source="103" target="104"', '<edge source="103" target="999"')},
         line=("town.graphml", 'target="999"')),
]


def _write(tmp: Path, case: Case) -> dict[str, str]:
    paths: dict[str, str] = {}
    for name, content in case.files.items():
        data = content() if callable(content) else content
        p = tmp / name
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
        paths[name] = str(p)
    return paths


def fill(override: str, paths: dict[str, str]) -> str:
    """``{file name}`` in an override becomes the path of that file."""
    for name, path in paths.items():
        override = override.replace("{" + name + "}", path)
    return override


def _line(tmp: Path, case: Case) -> str | None:
    if case.line is None:
        return None
    name, text = case.line
    body = (tmp / name).read_bytes().decode("utf-8", "replace")
    return f"{tmp / name}:{body[: body.index(text)].count(chr(10)) + 1}"


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30 and len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_stops_before_running(case: Case, tmp_path: Path) -> None:
    paths = _write(tmp_path, case)
    overrides = [fill(o, paths) for o in case.overrides]
    with pytest.raises(CLEAN) as err:
        cfg = make(overrides)
        assert isinstance(cfg, Config)
        prepare(cfg)
    text = str(err.value)
    assert case.key in text, text
    assert case.says in text, text
    where = _line(tmp_path, case)
    if where:
        assert where in text, text
    if isinstance(err.value, ConfigError) and case.files:
        assert err.value.key == case.key


# ----------------------------------------------------------------- the real CLI
CLI_CASES = ["typo_key", "nan_rate", "station_on_missing_file_node", "truncated_epanet", "binary_roads"]


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_exits_non_zero_and_leaves_no_result(tmp_path: Path) -> None:
    earlier = tmp_path / "outputs" / "earlier"
    (earlier / "city").mkdir(parents=True)
    for name in ("summary.json", "events.csv", "incidents.csv", "city/nodes.csv"):
        (earlier / name).write_text(f"an earlier result: {name}\n")
    before = _digest(earlier)
    by_id = {c.id: c for c in CASES}
    for k, cid in enumerate(CLI_CASES):
        case = by_id[cid]
        paths = _write(tmp_path, case)
        run = tmp_path / "outputs" / f"new{k}"
        p = subprocess.run([sys.executable, "-m", "sim", *[fill(o, paths) for o in case.overrides],
                            "run.horizon_s=7200", f"hydra.run.dir={run}"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert p.returncode != 0, (cid, p.stdout[-500:])
        assert case.key in p.stderr and "Traceback" not in p.stderr, (cid, p.stderr[-2000:])
        for name in ("summary.json", "events.csv", "incidents.csv", "report.html"):
            assert not (run / name).exists(), (cid, name)
    assert _digest(earlier) == before
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == ["earlier"]


# ------------------------------------------------------------- untrusted text
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_ATTRS = {("pickle", "load"), ("pickle", "loads"), ("yaml", "load"), ("yaml", "unsafe_load"),
                   ("marshal", "loads"), ("pd", "read_pickle"), ("pandas", "read_pickle"), ("ast", "literal_eval")}


def test_no_eval_and_no_unpickling_in_the_code() -> None:
    root = Path(__file__).resolve().parents[1]
    found = []
    for pkg in ("sim", "scenarios", "analysis"):
        for f in sorted((root / pkg).rglob("*.py")):
            tree = ast.parse(f.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                    if any(n.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "cloudpickle") for n in names):
                        found.append(f"{f}:{node.lineno}: imports an unpickler")
                if not isinstance(node, ast.Call):
                    continue
                fn = node.func
                if isinstance(fn, ast.Name) and fn.id in FORBIDDEN_CALLS:
                    found.append(f"{f}:{node.lineno}: {fn.id}()")
                if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name) \
                        and (fn.value.id, fn.attr) in FORBIDDEN_ATTRS:
                    found.append(f"{f}:{node.lineno}: {fn.value.id}.{fn.attr}()")
                for kw in node.keywords:
                    if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        found.append(f"{f}:{node.lineno}: allow_pickle")
    assert not found, found


def test_refused_run_leaves_an_earlier_hydra_record_alone(tmp_path: Path) -> None:
    earlier = tmp_path / "earlier"
    (earlier / ".hydra").mkdir(parents=True)
    (earlier / "summary.json").write_text("{}\n")
    (earlier / ".hydra" / "overrides.yaml").write_text("- seed=3\n")
    before = _digest(earlier)
    p = subprocess.run([sys.executable, "-m", "sim", "seed=4", f"hydra.run.dir={earlier}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "already holds a result" in p.stderr
    assert _digest(earlier) == before


def test_refused_sweep_leaves_an_earlier_sweep_alone(tmp_path: Path) -> None:
    earlier = tmp_path / "sweep"
    (earlier / "0" / ".hydra").mkdir(parents=True)
    (earlier / "0" / "summary.json").write_text("{}\n")
    (earlier / "multirun.yaml").write_text("seed: 3\n")
    before = _digest(earlier)
    p = subprocess.run([sys.executable, "-m", "sim", "-m", "seed=4,5", f"hydra.sweep.dir={earlier}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "hydra.sweep.dir" in p.stderr and "already holds a result" in p.stderr
    assert _digest(earlier) == before
    assert not (earlier / "1").exists()
