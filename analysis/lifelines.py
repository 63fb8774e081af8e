"""Lifeline metrics across lifelines and the cascade tree, from a run folder's tables.

* :func:`lifeline_table`: per lifeline in ``service.csv`` (``power``, ``water``):
  customer-hours lost ``∫ customers_out dt``, Bruneau's resilience loss
  ``∫(1 − Q) dt``, IEEE 1366 SAIFI (customer interruptions / customers
  served), SAIDI (customer interruption duration / customers served, h) and
  CAIDI (SAIDI / SAIFI, h), minimum Q and time to full restoration; and the
  share of the loss that a cascade caused (``water.cascade``: customers who
  lost water only because a pump or a block's booster lost power).
* :func:`cascade_tree`: the ``lifeline_down`` records as a tree, each
  consequence under its cause (``note = cause=<scope>``), with dependents of
  one class under one supplier grouped (a feeder's 60 elevator banks are one
  line with a count), ready for the report.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.resilience import customer_hours_lost, service_curve, service_resilience

__all__ = ["CascadeNode", "cascade_share", "cascade_tree", "lifeline_table", "tree_lines"]

#: Component class -> (label, what the logged value counts).
CLASS_LABELS: dict[str, tuple[str, str]] = {
    "power.substation": ("Substation", ""),
    "power.feeder": ("Feeder", "customers without power"),
    "water.pump": ("Booster pump station", "water nodes without pressure"),
    "water.booster": ("High-rise water boosters", "households on upper floors without water"),
    "roads.signals": ("Traffic signals dark", "road links slowed"),
    "elevators": ("Elevators stopped", "elevators with people trapped"),
    "hospital": ("Hospital on failed backup", "hours of generator fuel it had"),
}


def _cls(scope: str) -> str:
    return scope.rpartition(".")[0]


def cascade_share(service: pd.DataFrame, horizon_s: float, lifeline: str = "water") -> float | None:
    """Share of ``lifeline``'s customer-hours lost caused by cascades (``<lifeline>.cascade``); None without loss."""
    total = customer_hours_lost(service_curve(service, horizon_s, lifeline))
    if total <= 0:
        return None
    part = f"{lifeline}.cascade"
    if part not in set(service["lifeline"]):
        return 0.0
    return customer_hours_lost(service_curve(service, horizon_s, part)) / total


def lifeline_table(service: pd.DataFrame, horizon_s: float) -> list[dict[str, Any]]:
    """One row per lifeline (cascade parts excluded), in the order power, water, gas, then others."""
    names = [n for n in dict.fromkeys(service["lifeline"]) if not str(n).endswith(".cascade")]
    order = {"power": 0, "water": 1, "gas": 2}
    rows = []
    for name in sorted(names, key=lambda n: (order.get(n, 9), n)):
        r = service_resilience(service, horizon_s, name)
        d = r.as_dict()
        rows.append({
            "lifeline": name,
            "customers": d.get("customers_total"),
            "customer_hours_lost": d.get("customer_hours_lost"),
            "resilience_loss_h": d.get("resilience_loss_h"),
            "saifi": d.get("saifi"),
            "saidi_h": d.get("saidi_h"),
            "caidi_h": d.get("caidi_h"),
            "min_served": d.get("min_served"),
            "time_to_recover_s": d.get("time_to_recover_s"),
            "cascade_share": cascade_share(service, horizon_s, name),
        })
    return rows


@dataclass
class CascadeNode:
    scope: str  # a component, or the class of a group ("elevators" under a feeder)
    t_s: float
    value: float | None
    incident: int | None
    count: int = 1  # components in a group
    children: list[CascadeNode] = field(default_factory=list)

    @property
    def cls(self) -> str:
        return self.scope if self.count > 1 else _cls(self.scope)


def cascade_tree(events: pd.DataFrame, group_at: int = 4) -> list[CascadeNode]:
    """The failures of a run as trees, roots first in time.

    A root is a component that failed itself (``cause=incident.N``). Under
    each cause, dependents of one class are grouped into one node (values
    summed, earliest time) when there are at least ``group_at`` of them and
    none of them has dependents of its own.
    """
    downs = events[events["kind"] == "lifeline_down"] if len(events) else events
    if downs is None or not len(downs):
        return []
    nodes: dict[str, CascadeNode] = {}
    parent: dict[str, str | None] = {}
    for r in downs.itertuples(index=False):
        scope = str(r.scope)
        if scope in nodes:  # a component may go down again later: keep its first failure
            continue
        note = str(r.note) if isinstance(r.note, str) else ""
        cause = note.removeprefix("cause=") if note.startswith("cause=") else ""
        value = None if pd.isna(r.value) else float(r.value)
        incident = None if pd.isna(r.incident) else int(r.incident)
        nodes[scope] = CascadeNode(scope, float(r.t_s), value, incident)
        parent[scope] = cause if cause in nodes else None
    roots: list[CascadeNode] = []
    for scope, node in nodes.items():
        p = parent[scope]
        (nodes[p].children if p is not None else roots).append(node)

    def group(node: CascadeNode) -> None:
        by_cls: OrderedDict[str, list[CascadeNode]] = OrderedDict()
        for c in node.children:
            group(c)
            by_cls.setdefault(_cls(c.scope), []).append(c)
        kids: list[CascadeNode] = []
        for cls, members in by_cls.items():
            if len(members) >= group_at and not any(m.children for m in members):
                vals = [m.value for m in members if m.value is not None]
                kids.append(CascadeNode(cls, min(m.t_s for m in members), sum(vals) if vals else None,
                                        members[0].incident, count=len(members)))
            else:
                kids.extend(members)
        node.children = kids

    for r in roots:
        group(r)
    return sorted(roots, key=lambda n: (n.t_s, n.scope))


def _clock(t_s: float) -> str:
    h, rem = divmod(int(round(t_s)), 3600)
    return f"{h:d}:{rem // 60:02d}"


def tree_lines(roots: list[CascadeNode]) -> list[tuple[int, str]]:
    """``(depth, text)`` lines of the trees, e.g. ``(1, "Feeder FZ03 — 14,679 customers without power, t+3:36")``."""
    out: list[tuple[int, str]] = []

    def walk(n: CascadeNode, depth: int) -> None:
        label, unit = CLASS_LABELS.get(n.cls, (n.cls, ""))
        if n.count > 1:
            name = f"{label}: {n.count}"
        else:
            name = f"{label} {n.scope.rpartition('.')[2]}"
        bits = [name]
        if n.value is not None and unit:
            bits.append(f"{n.value:,.0f} {unit}")
        if depth == 0 and n.incident is not None:
            bits.append(f"incident {n.incident}")
        out.append((depth, " — ".join(bits) + f", at {_clock(n.t_s)} h"))
        for c in n.children:
            walk(c, depth + 1)

    for r in roots:
        walk(r, 0)
    return out
