"""Routing on the road graph: travel-time tables from CSR arrays.

The road state (closures, slow-downs) is one array of link multipliers with a
version number. Shortest travel times come from ``scipy.sparse.csgraph``
Dijkstra on the graph's CSR arrays, cached per target node and dropped only
when the road state changes; networkx is not on this path.

Dispatch asks "how long from every node to this scene?", which is a single
Dijkstra on the *reversed* graph from the scene; its predecessor array gives
each node's next hop towards the scene, so a unit's path can be walked too.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim.city import Roads

__all__ = ["RoadState"]


class RoadState:
    """Mutable road state over an immutable :class:`Roads`.

    ``factor[i]`` multiplies the free-flow travel time of link ``i``;
    ``inf`` closes it. ``version`` increases on every change. Several causes
    may act on one link at once (a main repair, a flood, dark signals): each
    sets its own factor with :meth:`set_cause`, and the link's factor is their
    product, so one cause clearing leaves the others in force.
    """

    def __init__(self, roads: Roads, cache_size: int = 4096) -> None:
        self.roads = roads
        self.n = roads.n_nodes
        self.base_s = roads.travel_time_s().astype(float)
        self.factor = np.ones(roads.n_links)
        self._causes: dict[str, dict[int, float]] = {}
        self.version = 0
        self._cache_size = cache_size
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._limited: dict[tuple[int, float], np.ndarray] = {}
        self._rev: csr_matrix | None = None
        # Directed arc list: both directions unless one-way.
        two = ~roads.oneway.astype(bool)
        self._arc_src = np.concatenate([roads.u, roads.v[two]]).astype(np.int64)
        self._arc_dst = np.concatenate([roads.v, roads.u[two]]).astype(np.int64)
        self._arc_link = np.concatenate([np.arange(roads.n_links), np.nonzero(two)[0]])

    # ---------------------------------------------------------------- state
    def set_cause(self, cause: str, link: int, factor: float | None) -> None:
        """Set ``cause``'s factor on ``link`` (``inf`` closes it; ``None`` or 1 clears the cause there)."""
        if factor is not None and not factor > 0:
            raise ValueError(f"roads.link.{link}: factor must be > 0 (got {factor})")
        layer = self._causes.setdefault(cause, {})
        if factor is None or factor == 1.0:
            layer.pop(link, None)
        else:
            layer[link] = float(factor)
        f = 1.0
        for name in sorted(self._causes):
            v = self._causes[name].get(link)
            if v is not None:
                f *= v
        if self.factor[link] != f:
            self.factor[link] = f
            self._changed()

    def cause_factor(self, cause: str, link: int) -> float:
        """``cause``'s own factor on ``link`` (1 when it has none)."""
        return self._causes.get(cause, {}).get(link, 1.0)

    def set_factor(self, link: int, factor: float) -> None:
        self.set_cause("default", link, factor)

    def close(self, link: int) -> None:
        self.set_cause("default", link, np.inf)

    def open(self, link: int) -> None:
        self.set_cause("default", link, None)

    def is_closed(self, link: int) -> bool:
        return bool(np.isinf(self.factor[link]))

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()
        self._limited.clear()
        self._rev = None

    # -------------------------------------------------------------- routing
    def _reverse_graph(self) -> csr_matrix:
        if self._rev is None:
            w = self.base_s[self._arc_link] * self.factor[self._arc_link]
            ok = np.isfinite(w)
            src, dst, w = self._arc_src[ok], self._arc_dst[ok], w[ok]
            # Parallel arcs: keep the fastest (csr_matrix would add them up).
            # A zero-time arc would read as "no arc" in csgraph, so floor it.
            w = np.maximum(w, 1e-6)
            order = np.lexsort((w, src, dst))
            src, dst, w = src[order], dst[order], w[order]
            keep = np.ones(len(w), dtype=bool)
            keep[1:] = (dst[1:] != dst[:-1]) | (src[1:] != src[:-1])
            # Reversed: an arc a->b becomes b->a, so Dijkstra from a target
            # gives the time from every node to that target.
            self._rev = csr_matrix((w[keep], (dst[keep], src[keep])), shape=(self.n, self.n))
        return self._rev

    def _to(self, target: int) -> tuple[np.ndarray, np.ndarray]:
        hit = self._cache.get(target)
        if hit is None:
            dist, pred = dijkstra(self._reverse_graph(), indices=target, return_predecessors=True)
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            hit = self._cache[target] = (dist, pred)
        return hit

    def times_within(self, target: int, limit: float) -> np.ndarray:
        """Like :meth:`times_to`, but only nodes within ``limit`` s get a time (others ``inf``).

        A distance-limited Dijkstra settles only the nodes it needs, so its
        cost grows with the search radius, not with the city.
        """
        key = (target, float(limit))
        hit = self._limited.get(key)
        if hit is None:
            hit = dijkstra(self._reverse_graph(), indices=target, limit=limit)
            if len(self._limited) >= self._cache_size:
                self._limited.pop(next(iter(self._limited)))
            self._limited[key] = hit
        return hit

    def times_to(self, target: int) -> np.ndarray:
        """Travel time in s from every node to ``target`` (``inf`` if unreachable)."""
        return self._to(target)[0]

    def time(self, origin: int, target: int) -> float:
        return float(self._to(target)[0][origin])

    def path(self, origin: int, target: int) -> list[int]:
        """Nodes from ``origin`` to ``target`` along the fastest route ([] if unreachable)."""
        dist, nxt = self._to(target)
        if not np.isfinite(dist[origin]):
            return []
        out = [origin]
        node = origin
        while node != target:
            node = int(nxt[node])
            out.append(node)
        return out

    def position(self, origin: int, target: int, elapsed_s: float) -> int:
        """The node a vehicle has reached ``elapsed_s`` after leaving ``origin`` for ``target``.

        The last node passed (a vehicle between two nodes is placed at the one behind it).
        """
        dist, nxt = self._to(target)
        if not np.isfinite(dist[origin]):
            return origin
        node = origin
        start = dist[origin]
        while node != target and start - dist[int(nxt[node])] <= elapsed_s:
            node = int(nxt[node])
        return node
