"""The drill playbook: loading, checking and speaking it in one language.

The playbook (``conf/drill/default.yaml``, shipped in the package ``conf``)
holds everything a trainer adapts without code: the players (参演单位) and
the senders the control cell plays, delivery modes, one rule per event kind and
incident type with the message, expected actions and objectives, contingency
injects, timing targets and every label of the script in Chinese and English.
:func:`load_playbook` reads it (merging an optional override file over it),
checks it once and names the key at fault; :class:`Playbook` then renders its
texts in the chosen language, so no playbook key reaches a printed script.

Formatting of durations and clocks for the scripts lives here too, since it is
language-dependent.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sim.log import EVENT_KINDS

__all__ = [
    "FIELDS",
    "LANGS",
    "TYPES",
    "Playbook",
    "PlaybookError",
    "fmt_clock",
    "fmt_duration",
    "fmt_elapsed",
    "load_playbook",
]

LANGS = ("zh", "en")
TYPES = ("functional", "tabletop")

#: Fields a message, note or trigger template may use (see analysis.drill._fields).
FIELDS = frozenset(
    {
        "zone", "node", "place", "road", "pipe", "type", "severity", "clock", "incident",
        "units", "unit", "first_unit", "n_units", "customers", "customers_now", "outage_now",
        "segment", "valves", "repair_duration", "restore_eta", "outage_duration", "detection",
        "eta", "queue", "delay", "target", "call_processing", "travel",
        "occur_clock", "report_clock", "dispatch_clock", "arrive_clock", "isolate_clock",
        "restore_clock", "control_clock",
        # power faults, gas leaks and high-rise fires (analysis.drill_context.Context._hazard_fields)
        "asset", "component", "components", "component_names", "n_components", "trapped_block",
        "fed_hospitals", "fed_backup", "value", "total", "zones",
        "power_customers", "power_zones", "signal_zones", "signal_links", "pumps_down", "lifted_nodes",
        "booster_households", "n_boosters", "trapped_lifts", "n_lift_blocks", "entrapments", "backup",
        "radius", "households", "gas_customers", "gas_segment", "shut_off_clock",
        "building", "floor", "location", "detect_how", "floors_untenable", "untenable_floors",
        "second_alarm_floors", "water_source", "first_water_clock", "first_water_after", "exposed",
        "casualties", "occupants", "fire_units", "units_status",
        # the rainstorm (analysis.drill_flood.Storm.fields)
        "rain_total", "rain_duration", "rain_start_clock", "rain_end_clock", "peak_mm_h", "peak_clock",
        "wettest_hour", "return_period", "signal", "warning_clock", "warning_lead", "n_points",
        "first_point_clock", "max_depth", "points", "n_points_here", "depth", "points_now", "closed_now", "closed_light_now",
        "n_closed", "n_closed_underpasses", "n_preclosed", "links", "n_links", "underpass", "trapped_here",
        "trapped_total", "trapped_text", "people_total", "pump_calls", "n_pump_trucks", "pump_wait_max",
        "flood_over_clock", "flood_over_text", "flood_duration", "signal_reached",
        "peak_step", "point", "point_depth", "underpasses", "n_underpasses", "underpass_depth",
        "return_period_plain", "n_prepositioned", "warning_actions", "pump_text",
    }
)

_NAMED = ("roles", "senders", "modes", "events", "incident_types", "severity", "unit_kinds", "materials",
          "road_classes", "scenarios", "policies", "exercise_types", "fire_locations")
#: Metrics an objective may measure on the first unit of one kind (``metric: response@gas_crew``).
UNIT_METRICS = ("response", "turnout", "arrival_to_handover")
_REQUIRED = (*_NAMED, "components", "defaults", "scoring", "detection", "places", "flood", "objectives", "injects",
             "contingencies", "phrases", "labels")
_WHEN = frozenset({"detection", "value_min", "value_max", "customers_min", "customers_max", "scope_prefix",
                   "total_min", "total_max", "note_contains", "note_excludes", "feeds", "underpass",
                   "signal", "flooded", "all_classes", "queued"})


class PlaybookError(ValueError):
    """A playbook that cannot be used; the message names the file and the key."""


def _merge(base: Any, over: Any) -> Any:
    """Maps merge key by key; anything else (lists included) is replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    return over


def _read_yaml(path: Path | Any) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PlaybookError(f"{path}: cannot read the playbook ({exc})") from exc
    if not isinstance(data, dict):
        raise PlaybookError(f"{path}: expected a mapping at the top level")
    return data


def _fields_of(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def finite_number(v: Any) -> float | None:
    """``v`` as a finite float, or None (a missing, empty or non-numeric table cell)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


class _Checker:
    def __init__(self, source: str, data: dict[str, Any]) -> None:
        self.source = source
        self.data = data

    def fail(self, key: str, msg: str) -> PlaybookError:
        return PlaybookError(f"{self.source}: {key}: {msg}")

    def text(self, key: str, node: Any, fields: frozenset[str] | None = None, listed: bool = False) -> None:
        if not isinstance(node, dict):
            raise self.fail(key, "expected a mapping with 'zh' and 'en'")
        for lang in LANGS:
            v = node.get(lang)
            items = v if listed and isinstance(v, list) else [v]
            if listed and not isinstance(v, list):
                raise self.fail(f"{key}.{lang}", "expected a list of texts")
            for i, item in enumerate(items):
                if not isinstance(item, str) or not item.strip():
                    raise self.fail(f"{key}.{lang}" + (f"[{i}]" if listed else ""), "missing or empty text")
                if fields is not None:
                    try:
                        unknown = _fields_of(item) - fields
                    except ValueError as exc:
                        raise self.fail(f"{key}.{lang}", f"bad template ({exc})") from exc
                    if unknown:
                        raise self.fail(f"{key}.{lang}", f"unknown field(s) {sorted(unknown)}; known: {sorted(fields)}")

    def ref(self, key: str, value: Any, section: str, types: list[str]) -> None:
        """A key of ``section``, or a mapping from incident type to such keys."""
        names = self.data[section]
        values = value.values() if isinstance(value, dict) else [value]
        if isinstance(value, dict):
            missing = [t for t in types if t not in value]
            if missing:
                raise self.fail(key, f"no entry for incident type(s) {missing}")
        for v in values:
            if v not in names:
                raise self.fail(key, f"{v!r} is not one of the {section}: {sorted(names)}")

    def rule(self, key: str, rule: Any, contingency: bool) -> None:
        if not isinstance(rule, dict):
            raise self.fail(key, "expected a mapping")
        for need in ("id", "sender", "receiver", "mode", "message", "actions", "objectives"):
            if need not in rule:
                raise self.fail(key, f"missing {need!r}")
        kind = rule.get("anchor" if contingency else "event")
        if kind not in EVENT_KINDS:
            raise self.fail(f"{key}.{'anchor' if contingency else 'event'}",
                            f"{kind!r} is not an event kind: {sorted(EVENT_KINDS)}")
        types = list(rule.get("types") or self.data["incident_types"])
        for t in types:
            if t not in self.data["incident_types"]:
                raise self.fail(f"{key}.types", f"{t!r} is not one of {sorted(self.data['incident_types'])}")
        self.ref(f"{key}.sender", rule["sender"], "senders", types)
        self.ref(f"{key}.receiver", rule["receiver"], "roles", types)
        self.ref(f"{key}.mode", rule["mode"], "modes", types)
        objectives = [rule["objectives"], *dict(rule.get("objectives_by_type") or {}).values()]
        for objs in objectives:
            for o in objs:
                if o not in self.data["objectives"]:
                    raise self.fail(f"{key}.objectives", f"{o!r} is not one of {sorted(self.data['objectives'])}")
        unknown = set(rule.get("when") or {}) - _WHEN
        if unknown:
            raise self.fail(f"{key}.when", f"unknown condition(s) {sorted(unknown)}; known: {sorted(_WHEN)}")
        self.text(f"{key}.message", rule["message"], FIELDS)
        self.text(f"{key}.actions", rule["actions"], listed=True)
        for opt in ("note", "trigger"):
            if opt in rule:
                self.text(f"{key}.{opt}", rule[opt], FIELDS)
        if contingency and "trigger" not in rule:
            raise self.fail(key, "missing 'trigger' (when the control cell uses it)")

    def run(self) -> None:
        d = self.data
        for section in _REQUIRED:
            if section not in d:
                raise self.fail(section, "missing section")
        for section in _NAMED:
            if not isinstance(d[section], dict) or not d[section]:
                raise self.fail(section, "expected a non-empty mapping")
            for k, v in d[section].items():
                self.text(f"{section}.{k}", v)
        defaults = d["defaults"]
        if defaults.get("lang") not in LANGS:
            raise self.fail("defaults.lang", f"expected one of {LANGS}, got {defaults.get('lang')!r}")
        if defaults.get("exercise_type") not in TYPES:
            raise self.fail("defaults.exercise_type", f"expected one of {TYPES}")
        for key in ("max_per_hour", "lead_s", "tail_s", "round_s"):
            v = defaults.get(key)
            if not isinstance(v, int | float) or v <= 0:
                raise self.fail(f"defaults.{key}", f"expected a positive number, got {v!r}")
        for key in ("max_per_hour", "duration_s", "briefing_s", "jump_note_s"):
            v = (defaults.get("tabletop") or {}).get(key)
            if not isinstance(v, int | float) or v <= 0:
                raise self.fail(f"defaults.tabletop.{key}", f"expected a positive number, got {v!r}")
        if not isinstance(d["scoring"], dict):
            raise self.fail("scoring", "expected a mapping")
        for key, v in d["scoring"].items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise self.fail(f"scoring.{key}", f"expected a finite number >= 0, got {v!r}")
        signals = (d["flood"] or {}).get("signals") if isinstance(d["flood"], dict) else None
        if not isinstance(signals, list) or not signals:
            raise self.fail("flood.signals", "expected a list of {key, hours, mm}, highest signal first")
        for i, sig in enumerate(signals):
            ok = isinstance(sig, dict) and isinstance(sig.get("key"), str) and all(
                isinstance(sig.get(k), int | float) and sig[k] > 0 for k in ("hours", "mm"))
            if not ok:
                raise self.fail(f"flood.signals[{i}]", "expected {key: name, hours: > 0, mm: > 0}")
            if f"signal_{sig['key']}" not in d["phrases"]:
                raise self.fail(f"flood.signals[{i}].key", f"no phrase 'signal_{sig['key']}' names it")
        for k, obj in d["objectives"].items():
            for part in ("name", "text", "capability", "source"):
                self.text(f"objectives.{k}.{part}", obj.get(part))
            base, at, kind = str(obj.get("metric", "none")).partition("@")
            if at and (base not in UNIT_METRICS or kind not in (d.get("unit_kinds") or {})):
                raise self.fail(f"objectives.{k}.metric",
                                f"'{base}@{kind}': name@kind takes one of {', '.join(UNIT_METRICS)} and a unit kind "
                                f"of unit_kinds ({', '.join(sorted(d.get('unit_kinds') or {}))})")
            target = obj.get("target") or {}
            if not ("standard" in target or "seconds" in target or target.get("simulated")):
                raise self.fail(f"objectives.{k}.target", "needs 'standard', 'seconds' or 'simulated: true'")
        ids: set[str] = set()
        for section in ("injects", "contingencies"):
            if not isinstance(d[section], list):
                raise self.fail(section, "expected a list")
            for i, rule in enumerate(d[section]):
                self.rule(f"{section}[{i}]", rule, section == "contingencies")
                if rule["id"] in ids:
                    raise self.fail(f"{section}[{i}].id", f"duplicate id {rule['id']!r}")
                ids.add(rule["id"])
        for k, v in d["components"].items():
            self.text(f"components.{k}", v, frozenset({"id"}))
        for k, v in d["phrases"].items():
            self.text(f"phrases.{k}", v)
        for k, v in d["labels"].items():
            self.text(f"labels.{k}", v, listed=k.endswith("_list"))


def _known_keys(source: str, own: Any, shipped: dict[str, Any], sections: tuple[str, ...]) -> None:
    """The settings sections of a playbook file name only settings the shipped playbook has
    (a misspelt one would be ignored without a word)."""
    def walk(key: str, mine: Any, base: Any) -> None:
        if not (isinstance(mine, dict) and isinstance(base, dict)):
            return
        for k, v in mine.items():
            if k not in base:
                raise PlaybookError(f"{source}: {key}.{k}: unknown setting; known: {sorted(base)}")
            walk(f"{key}.{k}", v, base[k])

    if isinstance(own, dict):
        for section in sections:
            walk(section, own.get(section), shipped.get(section))


def load_playbook(path: str | Path | None = None) -> dict[str, Any]:
    """The shipped playbook, with the file at ``path`` (if any) merged over it, checked.

    Raises :class:`PlaybookError` naming the file and the key at fault.
    """
    shipped = resources.files("conf").joinpath("drill", "default.yaml")
    data = _read_yaml(shipped)
    source = "conf/drill/default.yaml"
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise PlaybookError(f"{p}: playbook file not found")
        own = _read_yaml(p)
        _known_keys(str(p), own, data, ("defaults", "scoring"))
        data = _merge(data, own)
        source = str(p)
    _Checker(source, data).run()
    return data


@dataclass(frozen=True)
class Playbook:
    """A checked playbook speaking one language."""

    data: Mapping[str, Any]
    lang: str

    def text(self, entry: Mapping[str, Any], /, **fields: Any) -> str:
        s = str(entry[self.lang])
        return s.format_map(fields) if fields else s

    def texts(self, node: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(s) for s in node[self.lang])

    def name(self, section: str, key: Any) -> str:
        """The name of ``key`` in ``section`` (roles, senders, modes, events, ...); the key if unlisted."""
        table = self.data[section]
        node = table.get(key, table.get(str(key)))
        if node is None and isinstance(key, str) and key.isdigit():
            node = table.get(int(key))
        return self.text(node) if node is not None else str(key)

    def label(self, key: str, /, **fields: Any) -> str:
        return self.text(self.data["labels"][key], **fields)

    def phrase(self, key: str, /, **fields: Any) -> str:
        return self.text(self.data["phrases"][key], **fields)

    def join(self, items: list[str] | tuple[str, ...]) -> str:
        return self.phrase("list_sep").join(items)

    def place(self, name: str) -> str:
        """A zone or city name from the run folder, in Chinese when asked for."""
        if self.lang != "zh" or not name:
            return name
        places = self.data["places"]
        for table in ("zones", "cities"):
            if name in (places.get(table) or {}):
                return str(places[table][name])
        for suffix, zh in (places.get("suffixes") or {}).items():
            if name.endswith(suffix):
                return name[: -len(suffix)] + str(zh)
        return name

    def duration(self, seconds: float | None, exact: bool = False) -> str:
        return fmt_duration(seconds, self.lang, exact) if seconds is not None else self.phrase("unknown")


def fmt_duration(seconds: float, lang: str, exact: bool = False) -> str:
    """``45秒`` / ``3分28秒`` / ``33分钟`` / ``2小时05分`` (and the English forms).

    From 10 min up, whole minutes; ``exact`` keeps the seconds below an hour (a target of
    610 s is ``10分10秒``, not ``10分钟``, which would read as a stricter target).
    """
    s = max(0, int(math.ceil(seconds - 1e-6)))
    zh = lang == "zh"
    if s < 60:
        return f"{s}秒" if zh else f"{s} s"
    if (s < 600 or (exact and s < 3600)) and s % 60:
        return f"{s // 60}分{s % 60:02d}秒" if zh else f"{s // 60} min {s % 60:02d} s"
    m = int(round(s / 60))
    if m < 60:
        return f"{m}分钟" if zh else f"{m} min"
    h, m = divmod(m, 60)
    if m == 0:
        return f"{h}小时" if zh else f"{h} h"
    return f"{h}小时{m:02d}分" if zh else f"{h} h {m:02d} min"


def fmt_clock(t: datetime) -> str:
    return t.strftime("%H:%M")


def fmt_elapsed(seconds: float) -> str:
    """``T+1:05`` after STARTEX, ``T-0:54`` before it (whole minutes, truncated towards STARTEX)."""
    m = int(abs(seconds) // 60)
    sign = "-" if seconds < 0 and m else "+"
    return f"T{sign}{m // 60}:{m % 60:02d}"
