"""Drill scripts for exercise trainers: a simulated run turned into a list of injects.

A run already holds a credible, timed chain of events; this module turns it
into the master scenario events list (MSEL) of HSEEP practice (DOMAIN.md 6.1:
number, scenario time, mode, from, to, message, expected player action,
objective and capability) laid out as a Chinese 演练脚本 (DOMAIN.md 6.2:
时间/步骤, 情景, 注入信息, 处置要点, 考核目标; 国务院应急办《突发事件应急演练指南》,
AQ/T 9007-2019), with an evaluation checklist in the spirit of AQ/T 9009-2015.

Data flow: :func:`analysis.rundir.load_run` → :func:`build_drill` (pure: the
playbook's rules pick events, a consequence score and a density cap choose
among them, the clock is laid out, texts are rendered in one language) →
:mod:`analysis.drill_render` (Markdown, CSV, HTML) → :func:`write_drill`.
``cityres-drill RUN_DIR`` is :func:`main`. The playbook (senders, receivers,
messages, expected actions, targets) lives in ``conf/drill/default.yaml``
(:mod:`analysis.drill_playbook`).

Selection. Each rule of the playbook matches the first group of events of one
kind for one incident that it fits (events at the same time, e.g. a run card's
units; lifeline records are grouped per component class, so the dozens of
high-rises a substation trip takes down make one group per class); its
score is the rule's weight plus bonuses for hazard incidents, severity and
customers out. Within the exercise window (by default the hazards' own span),
every role the candidates reach first gets its best inject that fits, then the
rest are taken by score while no 60-minute span of scenario time holds more
than N. Timing targets come from the standards in ``summary.json`` (GB 51080
§4.1.3 five minutes from dispatch order to arrival; NFPA 1710 turnout 80 s /
60 s; DOMAIN.md 2.1, 2.3) or from the simulated times themselves.

Clocks. Functional exercise (HSEEP FE): real time, the exercise clock runs
with the scenario from the clock start. Tabletop (HSEEP TTX, 桌面推演): each
inject gets a discussion slot of 3600/N s after a briefing, the most
consequential injects that fit the playbook's duration are kept, and the
scenario clock jumps between them; both clocks are shown.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from analysis.drill_context import Context
from analysis.drill_flood import RAINSTORM
from analysis.drill_playbook import LANGS, TYPES, Playbook, PlaybookError, load_playbook
from analysis.drill_playbook import finite_number as _num
from analysis.drill_select import (
    HOUR_S,
    Cand,
    candidates,
    contingencies,
    parse_clock,
    resolve_roles,
    select,
    window,
)
from analysis.metrics import fractile
from analysis.rundir import Run, load_run

__all__ = ["CheckItem", "Drill", "DrillOptions", "Inject", "build_drill", "main", "write_drill"]


@dataclass(frozen=True)
class DrillOptions:
    """What the trainer chooses; ``None`` takes the playbook's default."""

    lang: str | None = None
    exercise_type: str | None = None
    max_per_hour: int | None = None
    clock_start: str | None = None  # "HH:MM" (on the scenario's date) or an ISO date-time
    roles: tuple[str, ...] | None = None  # role keys or names; None: every role
    window: str | None = None  # "hazard" | "all"
    config: Path | None = None  # a playbook file merged over the shipped one


@dataclass(frozen=True)
class Inject:
    """One row of the script. ``event_index`` is the 0-based data row in ``events.csv``."""

    label: str  # "1", "2", ... or "C1", ... for contingency injects
    contingency: bool
    rule: str
    t_s: float  # simulated time of delivery: the event's, or for a contingency inject its anchor's plus offset
    event_t_s: float
    event_index: int
    event_kind: str
    event_scope: str
    incident: int
    incident_type: str
    sender: str
    receiver: str
    mode: str
    score: float
    scenario_clock: datetime
    exercise_clock: datetime
    elapsed_s: float
    objectives: tuple[str, ...]
    event_ref: str
    sender_name: str
    receiver_name: str
    mode_name: str
    message: str
    actions: tuple[str, ...]
    objective_text: str
    target_text: str
    notes: str = ""
    trigger: str = ""
    hazard: str = ""  # the hazard id when the event is the storm's own (no incident; incident < 0)

    @property
    def event_line(self) -> int:
        """Line number in ``events.csv`` (the header is line 1)."""
        return self.event_index + 2


@dataclass(frozen=True)
class CheckItem:
    """One line of the evaluation checklist: an objective for one incident, or pooled routine calls."""

    code: str
    objective: str
    name: str
    text: str
    capability: str
    applies_to: str
    injects: tuple[str, ...]
    target_s: float | None
    target: str
    source: str
    observed_s: float | None
    observed: str
    met: bool | None


@dataclass(frozen=True)
class Drill:
    """A drill script in one language: what :mod:`analysis.drill_render` prints.

    ``injects`` is the main sequence in time order; ``contingencies`` are held
    by the control cell; ``roles`` are the players that receive at least one
    inject, ``touched_roles`` those the scenario's events reach at all;
    ``labels`` are the playbook's document texts in the script's language.
    """

    lang: str
    exercise_type: str
    max_per_hour: int
    title: str
    subtitle: str
    overview: tuple[tuple[str, str], ...]
    scenario: tuple[str, ...]
    objectives: tuple[str, ...]
    injects: tuple[Inject, ...]
    contingencies: tuple[Inject, ...]
    checklist: tuple[CheckItem, ...]
    startex: tuple[datetime, str]
    endex: tuple[datetime, str]
    notes: tuple[str, ...]
    labels: dict[str, str]
    roles: tuple[str, ...]
    touched_roles: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())


def build_drill(run: Run, options: DrillOptions | None = None, playbook: dict[str, Any] | None = None) -> Drill:
    """The drill script for ``run``: injects, contingency injects and the checklist, in one language.

    Pure: reads only the tables of ``run`` and the playbook (``options.config``
    merged over the shipped one, unless ``playbook`` is given already loaded).
    """
    opts = options or DrillOptions()
    data = playbook if playbook is not None else load_playbook(opts.config)
    d = data["defaults"]
    lang = opts.lang or d["lang"]
    etype = opts.exercise_type or d["exercise_type"]
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
    if etype not in TYPES:
        raise ValueError(f"exercise type must be one of {TYPES}, got {etype!r}")
    default_cap = d["tabletop"]["max_per_hour"] if etype == "tabletop" else d["max_per_hour"]
    cap = int(opts.max_per_hour if opts.max_per_hour is not None else default_cap)
    if cap < 1:
        raise ValueError(f"max per hour must be at least 1, got {cap}")
    how = opts.window or d["window"]
    if how not in ("hazard", "all"):
        raise ValueError(f"window must be 'hazard' or 'all', got {how!r}")
    ctx = Context(run, Playbook(data, lang))
    roles = resolve_roles(ctx.pb, opts.roles)
    t0, t1 = window(ctx, how)
    cands = candidates(ctx, roles, t0, t1)
    if etype == "tabletop":
        tt = d["tabletop"]
        slots = int((float(tt["duration_s"]) - float(tt["briefing_s"])) // _slot(cap))
        chosen, missed = select(cands, None, max(1, slots))
    else:
        chosen, missed = select(cands, cap)
    held = contingencies(ctx, chosen, roles, t0, t1)
    touched = tuple(r for r in roles if any(c.receiver == r for c in cands))
    warnings = tuple(f"role {r!r} is reached by the scenario but no inject for it fits "
                     f"({cap} per hour{', tabletop slots' if etype == 'tabletop' else ''})" for r in missed)
    clock_start = parse_clock(opts.clock_start, ctx.scenario(t0).date()) if opts.clock_start else None
    return _lay_out(ctx, etype, cap, chosen, held, (t0, t1), clock_start, touched, warnings)


def _slot(cap: int) -> int:
    """Discussion time per inject in a tabletop (whole seconds, so N slots never exceed an hour)."""
    return math.ceil(HOUR_S / cap)


def _clocks(ctx: Context, etype: str, cap: int, chosen: Sequence[Cand], t0: float, t1: float,
            clock_start: datetime | None) -> tuple[datetime, list[float], list[float | None], float,
                                                   Callable[[float], float]]:
    """Exercise clock at STARTEX, elapsed time of each inject, scenario jumps, ENDEX, and elapsed(t).

    Functional: the exercise runs with the scenario. Tabletop: one discussion
    slot of 3600/N s per inject after the briefing; a scenario gap longer than
    ``jump_note_s`` is announced as a jump of the scenario clock.
    """
    if etype == "functional":
        ex0 = clock_start or ctx.scenario(t0)
        end = max([t1 - t0] + [c.t_s - t0 for c in chosen])
        return ex0, [c.t_s - t0 for c in chosen], [None] * len(chosen), end, lambda t: t - t0
    tt = ctx.pb.data["defaults"]["tabletop"]
    slot, briefing = _slot(cap), int(tt["briefing_s"])
    ex0 = clock_start or parse_clock(str(tt["clock_start"]), ctx.scenario(t0).date())
    elapsed = [float(briefing + i * slot) for i in range(len(chosen))]
    jumps: list[float | None] = [None]
    jumps += [g if (g := b.t_s - a.t_s) > float(tt["jump_note_s"]) else None for a, b in pairwise(chosen)]
    end = (elapsed[-1] if elapsed else float(briefing)) + slot
    knots: dict[float, float] = {}
    for c, x in zip(chosen, elapsed, strict=True):
        knots[c.t_s] = x
    xs, ys = np.array(list(knots)), np.array(list(knots.values()))

    def at(t: float) -> float:
        """Where a contingency inject due at scenario time ``t`` falls on the exercise clock."""
        if not len(xs):
            return float(briefing)
        if t > xs[-1]:
            return float(ys[-1] + min(t - xs[-1], slot))
        return float(np.interp(t, xs, ys))

    return ex0, elapsed, jumps[: len(chosen)], end, at


def _targets(ctx: Context, objectives: Sequence[str], iid: int) -> tuple[str, str]:
    """The objective column and the timing-target column of one inject."""
    pb = ctx.pb
    names, lines = [], []
    for key in objectives:
        obj = pb.data["objectives"][key]
        names.append(pb.label("objective_line", name=pb.text(obj["name"]), text=pb.text(obj["text"]),
                              capability=pb.text(obj["capability"])))
        observed = ctx.metric(obj["metric"], iid) if obj["metric"] != "none" else None
        target = ctx.target(obj, observed, iid)
        tgt = pb.duration(target, exact=True) if target is not None else pb.label("na")
        kw = {"name": pb.text(obj["name"]), "target": tgt, "source": pb.text(obj["source"])}
        lines.append(pb.label("target_line", observed=pb.duration(observed, exact=True), **kw)
                     if observed is not None else pb.label("target_only", **kw))
    return "\n".join(names), "\n".join(lines)


def _inject(ctx: Context, c: Cand, label: str, held: bool, ex0: datetime, elapsed: float,
            jump: float | None) -> Inject:
    pb, rule, iid = ctx.pb, c.rule, int(c.inc["incident"])
    itype = str(c.inc["type"])
    objectives = tuple((rule.get("objectives_by_type") or {}).get(itype, rule["objectives"]))
    objective_text, target_text = _targets(ctx, objectives, iid)
    extra: dict[str, str] = {}
    if held:
        obj = pb.data["objectives"][objectives[0]]
        observed = ctx.metric(obj["metric"], iid) if obj["metric"] != "none" else None
        extra["target"] = pb.duration(ctx.target(obj, observed, iid), exact=True)
        if rule.get("delay_s"):
            extra["delay"] = pb.duration(float(rule["delay_s"]))
    f = ctx.fields(c.inc, c.group, **extra)
    notes = [pb.text(rule["note"], **f)] if "note" in rule else []
    if jump is not None:
        notes.insert(0, pb.label("time_jump", skip=pb.duration(jump)))
    g = c.group
    storm = iid < 0
    ref = (pb.label("storm_event_ref", line=g.index + 2, event=pb.name("events", g.kind), scope=g.scope)
           if storm else pb.label("event_ref", line=g.index + 2, event=pb.name("events", g.kind), scope=g.scope,
                                  incident=iid))
    return Inject(
        label=label, contingency=held, rule=str(rule["id"]), t_s=c.t_s, event_t_s=g.t_s, event_index=g.index,
        event_kind=g.kind, event_scope=g.scope, incident=iid, incident_type=itype,
        sender=c.sender, receiver=c.receiver, mode=c.mode, score=c.score,
        scenario_clock=ctx.scenario(c.t_s), exercise_clock=ex0 + timedelta(seconds=elapsed), elapsed_s=elapsed,
        objectives=objectives,
        event_ref=ref,
        sender_name=pb.name("senders", c.sender), receiver_name=pb.name("roles", c.receiver),
        mode_name=pb.name("modes", c.mode), message=pb.text(rule["message"], **f), actions=pb.texts(rule["actions"]),
        objective_text=objective_text, target_text=target_text, notes="\n".join(notes),
        trigger=pb.text(rule["trigger"], **f) if held else "",
        hazard=str(c.inc["source"]) if storm else "",
    )


def _observed(ctx: Context, metric: str, iids: Sequence[int]) -> float | None:
    """The simulated time of one incident, or the standards' fractile over several (DOMAIN.md 2.5)."""
    if metric == "none":
        return None
    vals = [v for v in (ctx.metric(metric, i) for i in iids) if v is not None]
    if len(iids) == 1:
        return vals[0] if vals else None
    return fractile(vals, float(ctx.standards.get("fractile", 0.9))) if vals else None


def _checklist(ctx: Context, injects: Sequence[Inject]) -> tuple[CheckItem, ...]:
    """One line per objective: per hazard incident, and pooled over the routine calls of the script."""
    pb = ctx.pb
    groups: dict[tuple[str, int | None], dict[str, Any]] = {}
    for inj in injects:
        hazard = str(ctx.incidents[inj.incident]["source"]) != "background"
        for key in inj.objectives:
            g = groups.setdefault((key, inj.incident if hazard else None), {"injects": [], "iids": [], "held": True})
            g["injects"].append(inj.label)
            if inj.incident not in g["iids"]:
                g["iids"].append(inj.incident)
            g["held"] = g["held"] and inj.contingency
    order = list(pb.data["objectives"])

    def rank(k: tuple[str, int | None]) -> tuple[int, float, int, int]:
        key, iid = k
        t = float(ctx.incidents[iid]["t_occur_s"]) if iid is not None else math.inf
        return (iid is None, t, iid or 0, order.index(key))

    items = []
    p = float(ctx.standards.get("fractile", 0.9))
    for n, (key, iid_key) in enumerate(sorted(groups, key=rank), 1):
        g = groups[(key, iid_key)]
        obj = pb.data["objectives"][key]
        iids: list[int] = g["iids"]
        observed = _observed(ctx, obj["metric"], iids)
        target = ctx.target(obj, observed, iids[0] if len(iids) == 1 else None)
        if len(iids) == 1 and iids[0] < 0:
            inc = ctx.incidents[iids[0]]
            applies = pb.label("applies_storm", type=pb.name("incident_types", inc["type"]), hazard=inc["source"])
        elif len(iids) == 1:
            inc = ctx.incidents[iids[0]]
            applies = pb.label("applies_incident", incident=iids[0], type=pb.name("incident_types", inc["type"]),
                               zone=ctx.zone(str(inc["zone"])))
        else:
            types = sorted({str(ctx.incidents[i]["type"]) for i in iids})
            applies = pb.label("applies_pooled", n=len(iids), types=pb.join([pb.name("incident_types", t)
                                                                             for t in types]))
        # A run card that never assembled on scene missed its full-alarm objective (an old folder has no column).
        incomplete = (observed is None and obj["metric"] == "full_alarm_travel" and len(iids) == 1
                      and "full_alarm_travel" in ctx.components.get(iids[0], {})
                      and _num(ctx.incidents[iids[0]].get("t_arrival_s")) is not None)
        if incomplete:
            obs_text = pb.phrase("card_incomplete")
        elif observed is None:
            # metric@kind when no unit of that kind was sent or queued (no ambulance goes to a fire): not in the run
            unsent = "@" in obj["metric"] and not any(ctx.kind_sent(obj["metric"].partition("@")[2], i) for i in iids)
            obs_text = pb.label("not_simulated") if obj["metric"] == "none" or unsent \
                else pb.phrase("not_restored") if obj["metric"] == "burst_to_restore" \
                else pb.phrase("not_relit") if obj["metric"] == "restore_to_relit" and ctx.first(iids[0], "restore") \
                else pb.label("na")
        elif len(iids) > 1:
            obs_text = pb.label("pooled", fractile=round(p * 100), value=pb.duration(observed, exact=True), n=len(iids))
        else:
            obs_text = pb.duration(observed, exact=True)
        name = pb.text(obj["name"]) + (pb.label("ck_reserve") if g["held"] else "")
        items.append(CheckItem(
            code=f"O{n}", objective=key, name=name, text=pb.text(obj["text"]), capability=pb.text(obj["capability"]),
            applies_to=applies, injects=tuple(g["injects"]), target_s=target,
            target=pb.duration(target, exact=True) if target is not None else pb.label("na"), source=pb.text(obj["source"]),
            observed_s=observed, observed=obs_text,
            met=False if incomplete else (observed <= target + 1e-9) if observed is not None and target is not None
            else None,
        ))
    return tuple(items)


def _scenario_text(ctx: Context, t0: float, t1: float, etype: str, cap: int) -> tuple[str, ...]:
    """情景设置: the hazards as the controllers should know them, and the routine load around them."""
    pb = ctx.pb
    out = [pb.label("scene_startex", start=ctx.clock(t0), end=ctx.clock(t1))]
    hazard = sorted((r for r in ctx.incidents.values() if str(r["source"]) != "background"),
                    key=lambda r: (float(r["t_occur_s"]), int(r["incident"])))
    roots = set(ctx.run.hazards["hazard"].astype(str)) if "hazard" in ctx.run.hazards else set()
    knock_on: dict[str, int] = {}
    for inc in hazard:
        if float(inc["t_occur_s"]) > t1:
            continue
        if roots and str(inc["source"]) not in roots:
            # consequences of a hazard (elevator entrapments of a power cut, a gas fire): counted, not narrated
            knock_on[str(inc["type"])] = knock_on.get(str(inc["type"]), 0) + 1
            continue
        group = (ctx.first(int(inc["incident"]), "occur") or ctx.first(int(inc["incident"]), "report")
                 or ctx.first(int(inc["incident"]), "rain_start"))
        if group is None:
            continue
        f = ctx.fields(inc, group)
        if inc["type"] == RAINSTORM and ctx.storm is not None:
            # "intense" only for rain enough for a warning signal; no flooding told where none formed
            warned = ctx.first(int(inc["incident"]), "warning") is not None
            out.append(pb.label("scene_rainstorm" if ctx.storm.signal() else "scene_rain_light", **f)
                       + pb.label("scene_rain_warned" if warned else "scene_rain_unwarned", **f)
                       + pb.label("scene_rain_outcome_dry" if ctx.storm.dry else "scene_rain_outcome", **f))
            continue
        if inc["type"] != "water_main_break":
            own = f"scene_{inc['type']}"
            if ctx.detection_of(int(inc["incident"])) == "gas_monitoring" and f"{own}_alarm" in pb.data["labels"]:
                own = f"{own}_alarm"
            out.append(pb.label(own if own in pb.data["labels"] else "scene_other", **f))
            continue
        parts = [pb.label("scene_water", **f)]
        if ctx.first(int(inc["incident"]), "report"):
            alarm = ctx.detection_of(int(inc["incident"])) == "pressure_monitoring"
            detect = "scene_detect_alarm" if alarm else "scene_detect_calls"
            parts.append(pb.label(detect, **f))
        if ctx.first(int(inc["incident"]), "isolate"):
            dry = ctx.customers(int(inc["incident"])) <= 0
            restored = ctx.first(int(inc["incident"]), "restore")
            done = restored is not None and restored.t_s <= t1
            restore_text = pb.label(("scene_repaired" if dry else "scene_restored") if done else "scene_open", **f)
            parts.append(pb.label("scene_outcome_dry" if dry else "scene_outcome", restore_text=restore_text, **f))
        out.append(("" if pb.lang == "zh" else " ").join(parts))
    if knock_on:
        parts = [pb.label("scene_breakdown_item", type=pb.name("incident_types", t), n=k)
                 for t, k in sorted(knock_on.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append(pb.label("scene_knock_on", breakdown=pb.join(parts)))
    routine = [r for r in ctx.incidents.values()
               if str(r["source"]) == "background" and t0 <= float(r["t_occur_s"]) <= t1]
    if routine:
        counts: dict[str, int] = {}
        for r in routine:
            counts[str(r["type"])] = counts.get(str(r["type"]), 0) + 1
        parts = [pb.label("scene_breakdown_item", type=pb.name("incident_types", t), n=k)
                 for t, k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.append(pb.label("scene_background", n=len(routine), breakdown=pb.join(parts)))
    if etype == "tabletop":
        tt = pb.data["defaults"]["tabletop"]
        out.append(pb.label("scene_tabletop", gap=pb.duration(_slot(cap)),
                            duration=pb.duration(float(tt["duration_s"]))))
    return tuple(out)


def _lay_out(ctx: Context, etype: str, cap: int, chosen: Sequence[Cand], held: Sequence[Cand],
             span: tuple[float, float], clock_start: datetime | None, touched: tuple[str, ...],
             warnings: tuple[str, ...]) -> Drill:
    pb = ctx.pb
    t0, t1 = span
    ex0, elapsed, jumps, end, at = _clocks(ctx, etype, cap, chosen, t0, t1, clock_start)
    injects = tuple(_inject(ctx, c, str(i), False, ex0, e, j)
                    for i, (c, e, j) in enumerate(zip(chosen, elapsed, jumps, strict=True), 1))
    reserve = tuple(_inject(ctx, c, f"C{i}", True, ex0, at(c.t_s), None) for i, c in enumerate(held, 1))
    checklist = _checklist(ctx, injects + reserve)
    s = ctx.run.summary
    city = pb.place(str((s.get("city") or {}).get("name", "")))
    scenario = pb.name("scenarios", str(s.get("scenario", "")))
    title = pb.label("title", city=city, scenario=scenario)
    type_name = pb.name("exercise_types", etype)
    players = tuple(r for r in pb.data["roles"] if any(i.receiver == r for i in injects + reserve))
    senders = tuple(k for k in pb.data["senders"] if any(i.sender == k for i in injects + reserve))
    policy = pb.join([pb.name("policies", t) for t in str(s.get("policy", "")).replace(",", "+").split("+") if t])
    ex_end = ex0 + timedelta(seconds=end)
    overview = (
        (pb.label("ov_name"), title),
        (pb.label("ov_type"), type_name),
        (pb.label("ov_exercise_time"), f"{ex0:%Y-%m-%d %H:%M} – {ex_end:%H:%M}（{pb.duration(end)}）"
         if pb.lang == "zh" else f"{ex0:%Y-%m-%d %H:%M} – {ex_end:%H:%M} ({pb.duration(end)})"),
        (pb.label("ov_scenario_time"), f"{ctx.scenario(t0):%Y-%m-%d %H:%M} – {ctx.scenario(t1):%H:%M}"),
        (pb.label("ov_source"), pb.label("ov_source_text", run=ctx.run.path.name, scenario=scenario, policy=policy,
                                         seed=s.get("seed", pb.label("na")))),
        (pb.label("ov_roles"), pb.join([pb.name("roles", r) for r in players])),
        (pb.label("ov_control"), pb.label("ov_control_text", senders=pb.join([pb.name("senders", k)
                                                                               for k in senders]))),
        (pb.label("ov_counts"), pb.label("ov_counts_text", n=len(injects), cap=cap, c=len(reserve))),
        (pb.label("ov_evaluation"), pb.label("ov_evaluation_text")),
    )
    used = {c.objective for c in checklist}
    objectives = tuple(
        pb.label("objective_line", name=pb.text(o["name"]), text=pb.text(o["text"]), capability=pb.text(o["capability"]))
        for k, o in pb.data["objectives"].items() if k in used)
    labels = {k: pb.text(v) for k, v in pb.data["labels"].items() if not k.endswith("_list")}
    return Drill(
        lang=pb.lang, exercise_type=etype, max_per_hour=cap, title=title,
        subtitle=pb.label("subtitle", type=type_name), overview=overview,
        scenario=_scenario_text(ctx, t0, t1, etype, cap), objectives=objectives, injects=injects,
        contingencies=reserve, checklist=checklist,
        startex=(ex0, pb.label("startex")), endex=(ex_end, pb.label("endex")),
        notes=pb.texts(pb.data["labels"]["notes_list"]), labels=labels, roles=players, touched_roles=touched,
        warnings=warnings,
    )


def write_drill(run_dir: str | Path, out_dir: str | Path | None = None,
                options: DrillOptions | None = None) -> list[Path]:
    """Build the script for the run at ``run_dir`` and write it (Markdown, CSV, HTML, checklist CSV).

    ``out_dir`` defaults to ``run_dir/drill``. Returns the paths written.
    """
    from analysis.drill_render import write_files

    run = load_run(run_dir)
    drill = build_drill(run, options)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "drill"
    return write_files(drill, out)


def main(argv: Sequence[str] | None = None) -> int:
    """``cityres-drill RUN_DIR``: write the drill script of a run."""
    ap = argparse.ArgumentParser(
        prog="cityres-drill",
        description="Turn a simulated run into an exercise script: injects (MSEL / 演练脚本), "
                    "contingency injects and an evaluation checklist, as Markdown, CSV and printable HTML.",
    )
    ap.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run folder written by cityres")
    ap.add_argument("--lang", choices=LANGS, help="language of the script (default: the playbook's)")
    ap.add_argument("--type", dest="exercise_type", choices=TYPES,
                    help="functional: real-time clock; tabletop: compressed for discussion")
    ap.add_argument("--max-per-hour", type=int, metavar="N", help="at most N injects in any hour of scenario time")
    ap.add_argument("--clock-start", metavar="HH:MM|ISO", help="exercise clock at STARTEX")
    ap.add_argument("--roles", metavar="A,B,...", help="only these player roles (keys or names)")
    ap.add_argument("--window", choices=("hazard", "all"), help="hazard: the hazards' own span; all: the whole run")
    ap.add_argument("--out", type=Path, metavar="DIR", help="output folder (default RUN_DIR/drill)")
    ap.add_argument("--config", type=Path, metavar="PATH", help="a playbook YAML merged over the shipped one")
    args = ap.parse_args(argv)
    if args.max_per_hour is not None and args.max_per_hour < 1:
        ap.error("--max-per-hour must be at least 1")
    roles = tuple(r.strip() for r in args.roles.split(",") if r.strip()) if args.roles else None
    opts = DrillOptions(lang=args.lang, exercise_type=args.exercise_type, max_per_hour=args.max_per_hour,
                        clock_start=args.clock_start, roles=roles, window=args.window, config=args.config)
    try:
        paths = write_drill(args.run_dir, args.out, opts)
    except (FileNotFoundError, NotADirectoryError, ValueError, PlaybookError) as exc:
        print(f"cityres-drill: error: {exc}", file=sys.stderr)
        return 2
    for p in paths:
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
