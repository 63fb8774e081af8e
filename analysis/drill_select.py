"""Choosing injects: rule matching, consequence scores and the density cap.

The selection half of :mod:`analysis.drill`, pure and language-aware only
through :class:`analysis.drill_playbook.Playbook`. It works on a
:class:`analysis.drill_context.Context` (the run folder's lookups and message
fields): :func:`candidates` matches the playbook's rules to events inside the
exercise window, :func:`select` keeps the most consequential under the cap of
N per 60 minutes of scenario time while giving every role reached at least one
inject, and :func:`contingencies` anchors the held-back injects (HSEEP
contingency injects, DOMAIN.md 6.1) on events of incidents already scripted.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from analysis.drill_context import Context, Group
from analysis.drill_playbook import LANGS, Playbook
from analysis.drill_playbook import finite_number as _num

__all__ = ["Cand", "candidates", "contingencies", "parse_clock", "resolve_roles", "select", "window"]

HOUR_S = 3600.0


@dataclass(frozen=True)
class Cand:
    """A rule applied to an event group; ``t_s`` is when it is delivered (the event's time for an inject)."""

    rule: dict[str, Any]
    pos: int
    group: Group
    inc: dict[str, Any]
    sender: str
    receiver: str
    mode: str
    score: float
    t_s: float


def _by_type(value: Any, itype: str) -> Any:
    return value[itype] if isinstance(value, dict) else value


#: Kinds whose later records are a long tail (house-by-house relighting): only
#: the first counts towards the end of the exercise window.
TAIL_KINDS = frozenset({"relight"})


def _matches(ctx: Context, rule: dict[str, Any], inc: dict[str, Any], group: Group) -> bool:
    """Does ``rule`` apply to ``group``? ``when`` narrows by detection, event value and customers out."""
    if rule.get("types") and inc["type"] not in rule["types"]:
        return False
    when = rule.get("when") or {}
    v = group.value
    out = ctx.customers(int(inc["incident"]))
    note = group.note.casefold()
    total = group.total
    return not (
        ("detection" in when and when["detection"] != ctx.detection_of(int(inc["incident"])))
        or ("total_min" in when and (total is None or total < when["total_min"]))
        or ("total_max" in when and (total is None or total > when["total_max"]))
        or ("note_contains" in when and str(when["note_contains"]).casefold() not in note)
        or ("note_excludes" in when and str(when["note_excludes"]).casefold() in note)
        or ("feeds" in when and not ctx.fed(int(inc["incident"]), group, str(when["feeds"])))
        or ("value_min" in when and (v is None or v < when["value_min"]))
        or ("value_max" in when and (v is None or v > when["value_max"]))
        or ("customers_min" in when and out < when["customers_min"])
        or ("customers_max" in when and out > when["customers_max"])
        or ("scope_prefix" in when and not group.scope.startswith(str(when["scope_prefix"])))
        or ("underpass" in when and ctx.underpass(group) != bool(when["underpass"]))
        # the rainstorm: rain enough for a warning signal; a flooding point formed
        or ("signal" in when and (ctx.storm is not None and ctx.storm.signal() is not None) != bool(when["signal"]))
        or ("flooded" in when and (ctx.storm is not None and ctx.storm.flooded) != bool(when["flooded"]))
        or ("all_classes" in when and ctx.all_classes(group) != bool(when["all_classes"]))
        # no capable unit was free when the call was ready: it waited in a queue
        or ("queued" in when and ctx.queued(int(inc["incident"])) != bool(when["queued"]))
    )


def _score(ctx: Context, rule: dict[str, Any], inc: dict[str, Any]) -> float:
    sc = ctx.pb.data["scoring"]
    sev = _num(inc["severity"]) or 3.0
    s = float(rule.get("weight", 1)) + float(sc["severity_weight"]) * max(0.0, 3.0 - sev)
    if str(inc["source"]) != "background":
        s += float(sc["hazard_bonus"])
    return s + float(sc["customers_log_weight"]) * math.log10(1.0 + ctx.customers(int(inc["incident"])))


def window(ctx: Context, how: str) -> tuple[float, float]:
    d = ctx.pb.data["defaults"]
    step = float(d["round_s"])
    hazard = [i for i, r in ctx.incidents.items() if str(r["source"]) != "background"]
    if how == "all" or not hazard:
        return 0.0, ctx.horizon
    # players can act from the first report (a burst nobody has noticed yet is only scenery)
    starts = [_num(ctx.incidents[i]["t_report_s"]) for i in hazard]
    first = min((t for t in starts if t is not None), default=min(float(ctx.incidents[i]["t_occur_s"]) for i in hazard))
    last = max(g.t_s for (i, k), gs in ctx.groups.items() if i in hazard and k != "in_quarters"
               for g in (gs[:1] if k in TAIL_KINDS else gs))
    offset = (ctx.start - datetime.combine(ctx.start.date(), datetime.min.time())).total_seconds()
    t0 = math.floor((first - float(d["lead_s"]) + offset) / step) * step - offset
    t1 = math.ceil((last + float(d["tail_s"]) + offset) / step) * step - offset
    return max(0.0, t0), min(ctx.horizon, t1)


def _fits(times: list[float], t: float, cap: int) -> bool:
    """Would one more inject at ``t`` keep every 60-min span [a, a + 1 h) at ``cap`` or fewer?"""
    starts = times[bisect_right(times, t - HOUR_S): bisect_right(times, t)] + [t]
    return all(bisect_left(times, a + HOUR_S) - bisect_left(times, a) + 1 <= cap for a in starts)


def select(cands: list[Cand], cap: int | None, budget: int | None = None) -> tuple[list[Cand], list[str]]:
    """Every role reached gets its best inject that fits, then the rest by score.

    Fitting means no 60-minute span of scenario time would hold more than
    ``cap`` injects (``None``: no such cap), nor more than a rule's own
    ``max_per_hour`` of that rule (which keeps routine calls from crowding out
    the scenario); ``budget`` caps the total (a tabletop's discussion slots).
    """
    order = sorted(cands, key=lambda c: (-c.score, c.t_s, c.group.index, c.pos))
    times: list[float] = []
    by_rule: dict[int, list[float]] = {}
    chosen: list[Cand] = []
    missed: list[str] = []

    def fits(c: Cand) -> bool:
        limit = c.rule.get("max_per_hour")
        if budget is not None and len(chosen) >= budget:
            return False
        return ((cap is None or _fits(times, c.t_s, cap))
                and (limit is None or _fits(by_rule.get(c.pos, []), c.t_s, int(limit))))

    def take(c: Cand) -> None:
        chosen.append(c)
        times.insert(bisect_right(times, c.t_s), c.t_s)
        own = by_rule.setdefault(c.pos, [])
        own.insert(bisect_right(own, c.t_s), c.t_s)

    for role in dict.fromkeys(c.receiver for c in order):
        pick = next((c for c in order if c.receiver == role and fits(c)), None)
        if pick is None:
            missed.append(role)
        else:
            take(pick)
    taken = {id(c) for c in chosen}
    for c in order:
        if id(c) not in taken and fits(c):
            take(c)
    return sorted(chosen, key=lambda c: (c.t_s, c.pos, c.group.index)), missed


def parse_clock(text: str, day: date) -> datetime:
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.combine(day, datetime.strptime(text, fmt).time())
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError as exc:
        raise ValueError(f"clock start: expected HH:MM or an ISO date-time, got {text!r}") from exc


def resolve_roles(pb: Playbook, roles: Sequence[str] | None) -> tuple[str, ...]:
    table = pb.data["roles"]
    if not roles:
        return tuple(table)
    by_name = {str(v[lang]).casefold(): k for k, v in table.items() for lang in LANGS}
    out = []
    for r in roles:
        key = r if r in table else by_name.get(r.strip().casefold())
        if key is None:
            raise ValueError(f"unknown role {r!r}; roles in the playbook: {', '.join(table)}")
        out.append(key)
    return tuple(dict.fromkeys(out))


def candidates(ctx: Context, roles: Sequence[str], t0: float, t1: float) -> list[Cand]:
    """Every (rule, first event group of its kind for an incident that the rule fits) inside [t0, t1] for ``roles``."""
    out: list[Cand] = []
    for pos, rule in enumerate(ctx.pb.data["injects"]):
        for (iid, kind), gs in ctx.groups.items():
            inc = ctx.incidents.get(iid)
            if kind != rule["event"] or inc is None:
                continue
            # the first group the rule fits (a class of lifeline records, a first water by relay, ...)
            g = next((g for g in gs if _matches(ctx, rule, inc, g)), None)
            if g is None or not t0 <= g.t_s <= t1:
                continue
            itype = str(inc["type"])
            receiver = _by_type(rule["receiver"], itype)
            if receiver in roles:
                out.append(Cand(rule, pos, g, inc, _by_type(rule["sender"], itype), receiver,
                                _by_type(rule["mode"], itype), _score(ctx, rule, inc), g.t_s))
    return out


def _anchor(ctx: Context, rule: dict[str, Any], inc: dict[str, Any]) -> Group | None:
    """The first event of kind ``rule.anchor`` for the incident; the first-arriving unit's if asked."""
    groups = [g for g in ctx.groups.get((int(inc["incident"]), rule["anchor"]), []) if _matches(ctx, rule, inc, g)]
    if not rule.get("first_unit"):
        return groups[0] if groups else None
    unit = str(inc["first_unit"])
    for g in groups:
        if unit in g.scopes:
            k = g.scopes.index(unit)
            return replace(g, scope=unit, index=g.indices[k], scopes=(unit,), indices=(g.indices[k],),
                           notes=g.notes[k: k + 1], values=g.values[k: k + 1], total=None)
    return None


def contingencies(ctx: Context, chosen: Sequence[Cand], roles: Sequence[str], t0: float,
                  t1: float) -> list[Cand]:
    """Contingency injects, anchored on events of the incidents the script already holds (best first).

    Each is due ``offset_s`` after its anchor and kept only if that falls
    inside the exercise, from STARTEX (``t0``) to ENDEX (``t1``): a scripted
    incident may have started before STARTEX, and a contingency due then could
    never be delivered. ``max`` caps how many of one kind the script holds, and
    ``one_per_type`` spreads them over incident types.
    """
    best: dict[int, float] = {}
    for c in chosen:
        iid = int(c.inc["incident"])
        best[iid] = max(best.get(iid, -math.inf), c.score)
    ranked = sorted(best, key=lambda i: (-best[i], i))
    out: list[Cand] = []
    for pos, rule in enumerate(ctx.pb.data["contingencies"]):
        if rule.get("months") and ctx.start.month not in rule["months"]:
            continue
        n, used = 0, set()
        for iid in ranked:
            inc = ctx.incidents[iid]
            itype = str(inc["type"])
            anchor = _anchor(ctx, rule, inc)
            if (n >= int(rule.get("max", 1)) or anchor is None or not _matches(ctx, rule, inc, anchor)
                    or (rule.get("one_per_type") and itype in used)):
                continue
            receiver = _by_type(rule["receiver"], itype)
            t = anchor.t_s + float(rule.get("offset_s", 0))
            if receiver in roles and t0 <= t <= t1:
                out.append(Cand(rule, pos, anchor, inc, _by_type(rule["sender"], itype), receiver,
                                _by_type(rule["mode"], itype), _score(ctx, rule, inc), t))
                n += 1
                used.add(itype)
    return sorted(out, key=lambda c: (c.t_s, c.pos, c.group.index))
