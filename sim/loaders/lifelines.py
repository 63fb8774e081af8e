"""Water mains laid along a loaded road network, and the parts a water file lacks.

Used when ``city.water_file`` is not given (the whole water network is
generated, ``meta["generated"]`` says ``water``) and, for pipe materials,
install years and isolation valves, when an EPANET model does not have them.

* **Mains** under every road link except expressways and tunnels (no
  distribution mains there), one per pair of nodes (the shortest link of
  parallel ones is the one the main runs under).
* **Diameters**: 300-600 mm under arterials, 100-200 mm under local streets
  (as the generated district).
* **Material and age**: install years uniform in
  ``city.water.install_year_min .. max``; the configured material shares are
  kept exactly and handed out by age, oldest mains first to the oldest
  materials (cast iron, then asbestos cement, steel, ductile iron, PVC, PE).
  An EPANET model has no install years; there the roughest mains (lowest
  Hazen-Williams C) are taken to be the oldest.
* **Source**: a plant at the main node nearest the middle of the network's
  west edge, and one more for every piece of the mains the first cannot reach.
* **Valves** by the N-1 rule (Walski's rule of thumb for a well-valved grid):
  where three or more mains meet, a valve on every main but one.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sim.city import Roads, Valve, WaterNetwork
from sim.config import CityConfig
from sim.district_water import split_integer

__all__ = ["main_links", "main_pairs", "materials_by_age", "sources_at_edge", "strategic_valves", "water_along_roads"]

_EXPRESSWAY, _ARTERIAL = 0, 1
#: Rough era of each material, oldest first.
_ERA = {"CI": 0, "AC": 1, "steel": 2, "DI": 3, "PVC": 4, "PE": 5}


def materials_by_age(cfg: CityConfig, n: int, rng: np.random.Generator,
                     age_rank: np.ndarray | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """Materials and install years for ``n`` mains (see the module notes).

    ``age_rank``: a number per main, smaller for older mains (e.g. the
    Hazen-Williams C); when given, years are handed out in its order.
    """
    wc = cfg.water
    years = np.sort(rng.integers(wc.install_year_min, wc.install_year_max + 1, size=n)).astype(np.int64)
    if age_rank is None:
        years = rng.permutation(years)
    else:
        out = np.empty(n, dtype=np.int64)
        out[np.argsort(age_rank + rng.normal(0.0, 1e-6, n), kind="stable")] = years
        years = out
    names = sorted(wc.materials, key=lambda m: (_ERA.get(m, 3), m))
    counts = split_integer(n, np.array([wc.materials[m] for m in names]))
    order = np.argsort(years + rng.normal(0.0, 10.0, n), kind="stable")
    mat = np.empty(n, dtype=object)
    mat[order] = np.repeat(np.array(names, dtype=object), counts)
    return tuple(str(m) for m in mat), years


def strategic_valves(u: np.ndarray, v: np.ndarray, n_nodes: int, rng: np.random.Generator,
                     have: set[tuple[int, int]] | None = None, prefix: str = "V",
                     taken: set[str] | None = None) -> list[Valve]:
    """N-1 valves: at every node where >= 3 mains end, a valve on each main but one (chosen at random)."""
    have = set(have or ())
    taken = taken or set()
    ends = np.concatenate([u, v])
    pipes = np.concatenate([np.arange(len(u)), np.arange(len(v))])
    deg = np.bincount(ends, minlength=n_nodes)
    at = deg[ends] >= 3
    ends, pipes = ends[at], pipes[at]
    order = np.lexsort((pipes, ends))
    ends, pipes = ends[order], pipes[order]
    if len(ends) == 0:
        return []
    start = np.r_[0, np.nonzero(np.diff(ends))[0] + 1]
    stop = np.r_[start[1:], len(ends)]
    out: list[Valve] = []
    k = 0
    for s, e in zip(start, stop, strict=True):
        skip = s + int(rng.integers(0, e - s))
        for j in range(s, e):
            pair = (int(pipes[j]), int(ends[j]))
            if j == skip or pair in have:
                continue
            have.add(pair)  # a main that loops back to its node is valved there once
            k += 1
            while f"{prefix}{k}" in taken:
                k += 1
            out.append(Valve(id=f"{prefix}{k}", pipe=pair[0], node=pair[1]))
    return out


def main_pairs(roads: Roads, links: np.ndarray) -> np.ndarray:
    """Of ``links``, the shortest one for each unordered pair of nodes (no self-loops)."""
    a, b = np.minimum(roads.u[links], roads.v[links]), np.maximum(roads.u[links], roads.v[links])
    ok = a != b
    links, a, b = links[ok], a[ok], b[ok]
    order = np.lexsort((roads.length_m[links], b, a))
    links, a, b = links[order], a[order], b[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    return np.sort(links[first])


def sources_at_edge(x: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray, n: int,
                    weight: np.ndarray) -> tuple[int, ...]:
    """A plant near the middle of the west edge, and one per other piece of the mains with customers."""
    on = np.zeros(n, bool)
    on[u] = on[v] = True
    pool = np.nonzero(on)[0]
    ty = float(np.median(y[pool]))
    plants = [int(pool[np.argmin((x[pool] - x[pool].min()) ** 2 + (y[pool] - ty) ** 2)])]
    lab = connected_components(coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)), directed=False)[1]
    for comp in np.unique(lab[on & (weight > 0)]):
        if comp not in lab[plants]:
            members = np.nonzero((lab == comp) & on)[0]
            plants.append(int(members[np.argmin(x[members])]))
    return tuple(sorted(plants))


def main_links(roads: Roads) -> np.ndarray:
    """The road links mains run under (module notes)."""
    street = np.nonzero((roads.road_class != _EXPRESSWAY) & ~roads.tunnel)[0]
    return main_pairs(roads, street if len(street) else np.arange(roads.n_links))


def water_along_roads(cfg: CityConfig, roads: Roads, customers: np.ndarray,
                      rng: np.random.Generator) -> WaterNetwork:
    """Mains under the streets of ``roads`` (module notes); ``customers``: accounts per road node."""
    links = main_links(roads)
    u, v = roads.u[links].astype(np.int64), roads.v[links].astype(np.int64)
    p = len(links)
    arterial = roads.road_class[links] <= _ARTERIAL
    big = rng.choice(np.array([300.0, 400.0, 500.0, 600.0]), size=p, p=[0.4, 0.3, 0.2, 0.1])
    small = rng.choice(np.array([100.0, 150.0, 200.0]), size=p, p=[0.3, 0.45, 0.25])
    material, year = materials_by_age(cfg, p, rng)
    on = np.zeros(roads.n_nodes, bool)
    on[u] = on[v] = True
    cust = np.where(on, customers, 0).astype(np.int64)
    return WaterNetwork(
        pipe_ids=tuple(f"P{j + 1}" for j in range(p)), u=u, v=v, length_m=roads.length_m[links].astype(float),
        diameter_mm=np.where(arterial, big, small), material=material, install_year=year,
        road_link=links.astype(np.int64),
        sources=sources_at_edge(roads.x_m, roads.y_m, u, v, roads.n_nodes, cust),
        valves=tuple(strategic_valves(u, v, roads.n_nodes, rng)), customers=cust,
    )
