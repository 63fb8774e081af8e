"""Hazards: the exogenous drivers of a run, as plain serialisable records.

A scenario is a pure function ``(ScenarioConfig, City, Generator, horizon_s) ->
list[Hazard]``; it never touches SimPy. The hazards are written to
``hazards.csv`` before the engine runs, so a change of policy leaves them as
they were and a trainer can read the injects.
"""

from __future__ import annotations

import importlib
import inspect
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.city import City
from sim.config import ScenarioConfig
from sim.registry import SCENARIOS

__all__ = ["Hazard", "build", "compound", "no_hazards", "hazard_rows"]


@dataclass(frozen=True)
class Hazard:
    """One timed, targeted driver: ``kind`` at ``scope`` at ``t_s``."""

    id: str  # H1, H2, ... in time order
    t_s: float
    kind: str  # e.g. water.pipe_burst
    scope: str  # e.g. water.pipe.P17
    params: dict[str, Any] = field(default_factory=dict)


def no_hazards(cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float) -> list[Hazard]:
    """The ``none`` scenario: background calls only."""
    return []


def build(
    cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float, **context: Any
) -> list[Hazard]:
    """Dispatch to the scenario named ``cfg.name`` (see ``sim.registry.SCENARIOS``).

    ``context`` (``policy``, ``start_hour``) reaches only the generators whose
    signature names it: a hazard that depends on the policy says so there
    (``scenarios.ebike_fire``: charging piles mean fewer fires). One that
    takes ``**context`` (:func:`compound`) gets all of it for its parts.
    """
    try:
        target = SCENARIOS[cfg.name]
    except KeyError:
        from sim.config import ConfigError

        raise ConfigError("scenario.name", f"must be one of {', '.join(sorted(SCENARIOS))}") from None
    module, func = target.split(":")
    fn = getattr(importlib.import_module(module), func)
    params = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):  # compound takes it all
        context = {k: v for k, v in context.items() if k in params}
    hazards: list[Hazard] = fn(cfg, city, rng, horizon_s, **context)
    return hazards


def compound(cfg: ScenarioConfig, city: City, rng: np.random.Generator, horizon_s: float,
             **context: Any) -> list[Hazard]:
    """Several scenarios at once (``scenario.parts``): a storm day with a substation
    fault and a high-rise fire, say, so that their consequences meet in the engine.

    Each part draws from its own generator keyed by its name (not by its place
    in the list), so adding a part leaves the others' hazards unchanged. The
    hazards are merged in time order and renumbered H1, H2, ...; each keeps
    its part's name in ``params["part"]``.
    """
    import dataclasses
    import zlib

    from sim.config import ConfigError

    if not cfg.parts:
        raise ConfigError("scenario.parts", "compound needs at least one scenario, e.g. [power_outage, ebike_fire]")
    base = int(rng.integers(2**63))
    merged: list[tuple[float, str, int, Hazard]] = []
    for i, part in enumerate(cfg.parts):
        if part in ("compound", "none") or part not in SCENARIOS:
            raise ConfigError(f"scenario.parts[{i}]", f"must be one of {', '.join(sorted(set(SCENARIOS) - {'compound', 'none'}))}"
                              f" (got {part!r})")
        sub = dataclasses.replace(cfg, name=part, parts=[])
        part_rng = np.random.default_rng([base, zlib.crc32(part.encode())])
        for k, h in enumerate(build(sub, city, part_rng, horizon_s, **context)):
            merged.append((h.t_s, part, k, h))
    merged.sort(key=lambda m: (m[0], m[1], m[2]))
    return [dataclasses.replace(h, id=f"H{n}", params={**h.params, "part": part})
            for n, (_, part, _, h) in enumerate(merged, start=1)]


def hazard_rows(hazards: list[Hazard]) -> list[tuple[str, float, str, str, str]]:
    """Rows of ``hazards.csv``: params as canonical JSON (sorted keys)."""
    return [(h.id, h.t_s, h.kind, h.scope, json.dumps(h.params, sort_keys=True)) for h in hazards]
