"""Water mains for the generated district: pipes under the streets, plants, valves.

* A main runs under every street link (not the elevated expressway or its
  ramps, not the road tunnel); bridges carry mains across the river.
* Two treatment plants, one on each side of the district, so a single break
  rarely cuts a bank off (as in a real grid with several feeds).
* Diameters: 300-600 mm under arterials (transmission/distribution mains),
  100-200 mm under local streets.
* Material and age: install years uniform in the configured range; older
  pipes are more likely cast iron, newer ones PE (illustrative mix).
* Valves: at a junction (three or more pipes), a valve on an arterial main's
  end with probability ``valve_arterial_share`` and on a local main's end with
  probability 1/``valve_spacing_links``. The defaults (0.6 and 1/3) are an
  assumption of a sparse, older network, **sparser than the Ten States
  Standards**' valves every <=152 m in commercial districts and <=244 m
  elsewhere (DOMAIN.md 5.1): on the default district the length-weighted mean
  segment is ~4.5 km and the largest ~31 km. With ~160 m blocks the standard
  is about ``valve_spacing_links=1, valve_arterial_share=1`` (segments of a
  block or two). Customers are placed at street corners, not along the pipes,
  so at that density a break shut between two valves cuts nobody off: the
  sparse default is what gives a break its households (a limitation of the
  node-based demand, not a property of real networks).
"""

from __future__ import annotations

import numpy as np

from sim.city import Roads, Valve, WaterNetwork
from sim.config import CityConfig

__all__ = ["build_water", "split_integer"]


def split_integer(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), summing exactly."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    out = np.floor(exact).astype(np.int64)
    rest = int(total - out.sum())
    if rest:
        out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out


def build_water(cfg: CityConfig, roads: Roads, customers: np.ndarray, is_express_node: np.ndarray,
                rng: np.random.Generator) -> WaterNetwork:
    wc = cfg.water
    on_street = ~is_express_node[roads.u] & ~is_express_node[roads.v] & ~roads.tunnel
    links = np.nonzero(on_street)[0]
    u, v = roads.u[links], roads.v[links]
    p = len(links)
    arterial = roads.road_class[links] == 1
    diameter = np.where(arterial, rng.choice([300.0, 400.0, 500.0, 600.0], p), rng.choice([100.0, 150.0, 200.0], p))
    year = rng.integers(wc.install_year_min, wc.install_year_max + 1, size=p)
    mats = sorted(wc.materials)
    base = np.array([wc.materials[m] for m in mats])
    # Older mains lean to cast iron, newer to PE: reweight the configured shares by age.
    age_w = np.ones((p, len(mats)))
    old = year < 1990
    for k, m in enumerate(mats):
        if m == "CI":
            age_w[:, k] = np.where(old, 2.0, 0.3)
        elif m in ("PE", "PVC"):
            age_w[:, k] = np.where(old, 0.2, 2.0)
    probs = base[None, :] * age_w
    probs /= probs.sum(axis=1, keepdims=True)
    draws = rng.random(p)
    mat_idx = np.minimum((draws[:, None] > np.cumsum(probs, axis=1)).sum(axis=1), len(mats) - 1)
    material = tuple(mats[i] for i in mat_idx)

    # Plants at the west and east edges, mid-height of each half.
    x, y = roads.x_m, roads.y_m
    street_nodes = np.unique(np.concatenate([u, v]))
    sources = []
    sites = [(x.min(), np.quantile(y, 0.25)), (x.max(), np.quantile(y, 0.8))]
    if wc.n_plants != 2:  # alternate west and east edges, spread over the height
        sites = [(x.min() if i % 2 == 0 else x.max(), np.quantile(y, (i + 0.5) / wc.n_plants))
                 for i in range(wc.n_plants)]
    for tx, ty in sites:
        sources.append(int(street_nodes[np.argmin((x[street_nodes] - tx) ** 2 + (y[street_nodes] - ty) ** 2)]))
    sources = sorted(set(sources))

    deg = np.bincount(np.concatenate([u, v]), minlength=roads.n_nodes)
    p_local = min(1.0, 1.0 / max(wc.valve_spacing_links, 1))
    r = rng.random((p, 2))
    ends = np.column_stack([u, v])
    # No valve mid-run on a straight pipe (degree < 3); row-major order: pipe, then its u end, then v.
    prob = np.where(arterial, wc.valve_arterial_share, p_local)[:, None]
    vj, vend = np.nonzero((deg[ends] >= 3) & (r < prob))
    vnode = ends[vj, vend]
    valves = [Valve(id=f"V{k + 1}", pipe=int(j), node=int(nd))
              for k, (j, nd) in enumerate(zip(vj.tolist(), vnode.tolist(), strict=True))]
    cust = customers.copy()
    # Customers only where a main passes (every street node has one).
    off = np.ones(roads.n_nodes, bool)
    off[street_nodes] = False
    cust[off] = 0
    return WaterNetwork(
        pipe_ids=tuple(f"P{j + 1}" for j in range(p)), u=u.astype(np.int64), v=v.astype(np.int64),
        length_m=roads.length_m[links].astype(float), diameter_mm=diameter.astype(float), material=material,
        install_year=year.astype(np.int64), road_link=links.astype(np.int64), sources=tuple(sources),
        valves=tuple(valves), customers=cust,
    )
