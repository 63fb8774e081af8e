"""Routing on the road graph: travel-time tables from CSR arrays.

The road state (closures, slow-downs) is one array of link multipliers with a
version number. Shortest travel times come from ``scipy.sparse.csgraph``
Dijkstra on the graph's CSR arrays, cached per target node and dropped only
when the road state changes; networkx is not on this path.

Dispatch asks "how long from every node to this scene?", which is a single
Dijkstra on the *reversed* graph from the scene; its predecessor array gives
each node's next hop towards the scene, so a unit's path can be walked too.

At city scale a full Dijkstra per question would dominate a run, so every
point-to-point question (:meth:`RoadState.time`, :meth:`~RoadState.path`,
:meth:`~RoadState.position`) is answered from a *distance-limited* search
from the target, widened (x4 from ``first_limit_s``) until it reaches the
origin: it settles only the nodes nearer the target than the origin, and it
gives the same times and next hops as a full search (Dijkstra settles nodes
in order of distance, so nodes inside the limit never see the ones outside).
Searches from the same target (a station, a scene) are kept across changes
of the road state that cannot alter them: a link that becomes slower or
closes matters to a search only if the search's tree uses it (the next hop
of its tail is its head), and a link that becomes faster only if it now
gives its tail a shorter or an equal time (``d[head] + w <= d[tail]``: on
a tie a fresh search may take the other route); every other search stays
exact, so a flood closing links across town does not throw away the tables
of the stations it does not touch. The caches are bounded
in bytes, not entries, so a 100,000-node city does not hold gigabytes of
tables.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from sim.city import Roads

__all__ = ["RoadState", "position_on"]


class RoadState:
    """Mutable road state over an immutable :class:`Roads`.

    ``factor[i]`` multiplies the free-flow travel time of link ``i``;
    ``inf`` closes it. ``version`` increases on every change. Several causes
    may act on one link at once (a main repair, a flood, dark signals): each
    sets its own factor with :meth:`set_cause`, and the link's factor is their
    product, so one cause clearing leaves the others in force.
    """

    def __init__(self, roads: Roads, cache_size: int = 1024, cache_bytes: int = 256 << 20,
                 first_limit_s: float = 600.0) -> None:
        self.roads = roads
        self.n = roads.n_nodes
        self.base_s = roads.travel_time_s().astype(float)
        self.factor = np.ones(roads.n_links)
        self._causes: dict[str, dict[int, float]] = {}
        self.version = 0
        # A table is n times (8 bytes) plus n next hops (4 bytes).
        self._cache_bytes = cache_bytes
        self._cache_size = max(8, min(cache_size, cache_bytes // max(12 * self.n, 1)))
        self.first_limit_s = float(first_limit_s)
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        # Limited searches: (target, limit) -> (times, next hops); limits per target, ascending.
        self._limited: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}
        self._limits_of: dict[int, list[float]] = {}
        # Walked routes, (origin, target) -> (nodes, times left); each is dropped with any search of its target.
        self._routes: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._routes_of: dict[int, set[int]] = {}
        self._rev: csr_matrix | None = None
        # Weight changes not yet checked against the cached searches (checked at the next question,
        # so a flood step that changes a thousand links checks each search once).
        self._pending: list[tuple[int, int, float, float]] = []
        # Directed arc list: both directions unless one-way.
        two = ~roads.oneway.astype(bool)
        self._arc_src = np.concatenate([roads.u, roads.v[two]]).astype(np.int64)
        self._arc_dst = np.concatenate([roads.v, roads.u[two]]).astype(np.int64)
        self._arc_link = np.concatenate([np.arange(roads.n_links), np.nonzero(two)[0]])
        self._build_structure()
        self._twins: list[RoadState] = []

    def twin(self) -> RoadState:
        """The road state of another class of vehicle on the same roads.

        It starts with every cause set here, and every later :meth:`set_cause`
        here reaches it too, except one set with ``own=True``: a flood closes a
        road to ambulances at a shallower depth than to fire engines
        (DOMAIN.md 3.1), and sets each class's factor on its own state. Its
        searches and caches are its own (half the byte budget each).
        """
        t = RoadState(self.roads, cache_bytes=self._cache_bytes // 2, first_limit_s=self.first_limit_s)
        self._cache_bytes //= 2
        self._cache_size = max(8, min(self._cache_size, self._cache_bytes // max(12 * self.n, 1)))
        for cause in sorted(self._causes):
            for link, f in sorted(self._causes[cause].items()):
                t.set_cause(cause, link, f, own=True)
        self._twins.append(t)
        return t

    # ---------------------------------------------------------------- state
    def set_cause(self, cause: str, link: int, factor: float | None, *, own: bool = False) -> None:
        """Set ``cause``'s factor on ``link`` (``inf`` closes it; ``None`` or 1 clears the cause there).

        The link's factor is the product of its causes' factors. The
        :meth:`twin` states get the same factor unless ``own``.
        """
        if factor is not None and not factor > 0:
            raise ValueError(f"roads.link.{link}: factor must be > 0 (got {factor})")
        self.set_causes(cause, [link], [factor], own=own)

    def set_causes(self, cause: str, links: Sequence[int] | np.ndarray, factors: Sequence[float | None], *,
                   own: bool = False) -> None:
        """:meth:`set_cause` for many links at once, each link at most once.

        One vectorised rewrite of their weights: a flood step changes
        thousands of links, and one at a time the per-link Python work was
        most of its cost.
        """
        links_l = [operator.index(k) for k in links]  # an int or a numpy integer; 3.7 is no link
        f_l = [1.0 if f is None else float(f) for f in factors]
        if len(links_l) != len(f_l):
            raise ValueError(f"set_causes: {len(links_l)} links but {len(f_l)} factors")
        for link, f in zip(links_l, f_l, strict=True):
            if not f > 0:
                raise ValueError(f"roads.link.{link}: factor must be > 0 (got {f})")
        if len(set(links_l)) != len(links_l):
            raise ValueError("set_causes: a link is given twice")
        if not own:
            for t in self._twins:
                t.set_causes(cause, links_l, f_l)
        if not links_l:
            return
        layer = self._causes.setdefault(cause, {})
        for link, f in zip(links_l, f_l, strict=True):
            if f == 1.0:
                layer.pop(link, None)
            else:
                layer[link] = f
        # The product of every cause's factor, in the order set_cause takes them (the same floats).
        new = np.ones(len(links_l))
        for name in sorted(self._causes):
            lay = self._causes[name]
            if lay:
                new *= np.array([lay.get(k, 1.0) for k in links_l])
        idx = np.array(links_l, dtype=np.int64)
        moved = self.factor[idx] != new
        if not moved.any():
            return
        idx = idx[moved]
        self.factor[idx] = new[moved]
        self.version += int(moved.sum())
        self._pending.extend(self._update_links(idx))

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

    def _sync(self) -> None:
        """Drop the cached searches that the pending changes (head, tail, old, new weight) can alter."""
        changes: list[tuple[int, int, float, float]] | tuple[np.ndarray, ...] = self._pending
        self._pending = []
        if len(changes) > 8:
            changes = tuple(np.array(c) for c in zip(*changes, strict=True))
        stale = {key for key, (dist, pred) in self._limited.items() if _touched(dist, pred, changes, key[1])}
        for key in stale:
            del self._limited[key]
            self._limits_of[key[0]].remove(key[1])
        targets = {key[0] for key in stale}
        for target in [t for t, (dist, pred) in self._cache.items() if _touched(dist, pred, changes, np.inf)]:
            del self._cache[target]
            targets.add(target)
        for target in targets:
            self._drop_routes(target)

    def _drop_routes(self, target: int) -> None:
        for origin in self._routes_of.pop(target, ()):
            del self._routes[(origin, target)]

    def clear_cache(self) -> None:
        """Forget every table, its twins' too (they are recomputed on demand); the road state is unchanged."""
        for t in self._twins:
            t.clear_cache()
        self._cache.clear()
        self._limited.clear()
        self._limits_of.clear()
        self._routes.clear()
        self._routes_of.clear()
        self._pending = []

    # -------------------------------------------------------------- routing
    def _build_structure(self) -> None:
        """The reversed graph's CSR structure, built once; a change rewrites only its weights.

        An entry per (from, to) pair of the reversed graph, holding the
        fastest of its parallel arcs (csr_matrix would add them up); a closed
        arc reads ``inf``, which Dijkstra never relaxes. A zero-time arc would
        read as "no arc" in csgraph, so times are floored at 1e-6 s.
        """
        # Reversed: an arc a->b becomes b->a, so Dijkstra from a target gives
        # the time from every node to that target. Rows are the arcs' heads.
        order = np.lexsort((self._arc_src, self._arc_dst))
        dst, src = self._arc_dst[order], self._arc_src[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = (dst[1:] != dst[:-1]) | (src[1:] != src[:-1])
        self._grp_start = np.flatnonzero(first)
        self._grp_end = np.append(self._grp_start[1:], len(order))
        self._arcs_sorted = order
        group = np.cumsum(first) - 1
        self._grp_of_arc = np.empty(len(order), dtype=np.int64)
        self._grp_of_arc[order] = group
        # The arcs of each link (one, or two for a two-way link).
        self._link_arcs = np.full((self.roads.n_links, 2), -1, dtype=np.int64)
        n_links = self.roads.n_links
        self._link_arcs[:, 0] = np.arange(n_links)
        self._link_arcs[self._arc_link[n_links:], 1] = np.arange(n_links, len(self._arc_link))
        g_dst = dst[first]
        indptr = np.searchsorted(g_dst, np.arange(self.n + 1)).astype(np.int32)
        indices = src[first].astype(np.int32)
        data = self._group_weights()
        self._rev = csr_matrix((data, indices, indptr), shape=(self.n, self.n))
        self._grp_row = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(indptr))

    def _group_weights(self) -> np.ndarray:
        """Weights of every CSR entry, in order: the fastest of its parallel arcs, floored at 1e-6 s."""
        return self._group_weights_at(self.factor)

    def _group_weights_at(self, factor: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """The weights of CSR entries ``groups`` (all if None) at link factors ``factor``: the fastest of
        each entry's parallel arcs, floored at 1e-6 s."""
        if groups is None:
            if not len(self._grp_start):
                return np.zeros(0)
            w = self.base_s[self._arc_link] * factor[self._arc_link]
            return np.maximum(np.minimum.reduceat(w[self._arcs_sorted], self._grp_start), 1e-6)
        start = self._grp_start[groups]
        size = self._grp_end[groups] - start
        first = np.cumsum(size) - size  # where each group's arcs begin in the concatenation
        pos = np.repeat(start - first, size) + np.arange(int(size.sum()))
        arc_links = self._arc_link[self._arcs_sorted[pos]]
        w = self.base_s[arc_links] * factor[arc_links]
        return np.maximum(np.minimum.reduceat(w, first), 1e-6) if len(w) else np.zeros(0)

    def _update_links(self, links: np.ndarray) -> list[tuple[int, int, float, float]]:
        """Rewrite the CSR entries of ``links`` from their factors; returns (head, tail, old, new weight)
        of each entry that changed.

        Rows of the reversed graph are the arcs' heads, columns their tails; an
        entry holds the fastest of its parallel arcs (:meth:`_group_weights_at`).
        """
        assert self._rev is not None
        arcs = self._link_arcs[links].ravel()
        groups = np.unique(self._grp_of_arc[arcs[arcs >= 0]])
        new = self._group_weights_at(self.factor, groups)
        data = self._rev.data
        old = data[groups]
        changed = old != new
        groups, old, new = groups[changed], old[changed], new[changed]
        data[groups] = new
        return list(zip(self._grp_row[groups].tolist(), self._rev.indices[groups].tolist(),
                        old.tolist(), new.tolist(), strict=True))

    def _reverse_graph(self) -> csr_matrix:
        assert self._rev is not None
        return self._rev

    def _to(self, target: int) -> tuple[np.ndarray, np.ndarray]:
        if self._pending:
            self._sync()
        hit = self._cache.pop(target, None)
        if hit is not None:  # least recently used goes first: a station's table outlives the scenes'
            self._cache[target] = hit
        else:
            dist, pred = dijkstra(self._reverse_graph(), indices=target, return_predecessors=True)
            if len(self._cache) >= self._cache_size:
                old_target = next(iter(self._cache))
                del self._cache[old_target]
                self._drop_routes(old_target)
            hit = self._cache[target] = (dist, pred)
        return hit

    def _within(self, target: int, limit: float) -> tuple[np.ndarray, np.ndarray]:
        """A search from ``target`` exact at least up to ``limit`` s (a cached wider one will do)."""
        if self._pending:
            self._sync()
        full = self._cache.get(target)
        if full is not None:
            return self._to(target)
        for lim in self._limits_of.get(target, ()):
            if lim >= limit:
                key = (target, lim)
                hit = self._limited[key] = self._limited.pop(key)  # now the most recently used
                return hit
        dist, pred = dijkstra(self._reverse_graph(), indices=target, limit=limit, return_predecessors=True)
        if len(self._limited) >= self._cache_size:
            old = next(iter(self._limited))
            del self._limited[old]
            self._limits_of[old[0]].remove(old[1])
            self._drop_routes(old[0])
        self._limited[(target, float(limit))] = (dist, pred)
        lims = self._limits_of.setdefault(target, [])
        lims.append(float(limit))
        lims.sort()
        return dist, pred

    def _reaching(self, origin: int, target: int) -> tuple[np.ndarray, np.ndarray]:
        """A search from ``target`` that reaches ``origin`` if anything does.

        Widens a limited search (x4 from ``first_limit_s``) and falls back to
        a full one after 8 h of travel: an unreachable origin costs the
        limited searches up to 8 h (three from 600 s) and one full search,
        which is then kept, so asking again costs nothing until the road
        state changes near the target. (x2 was tried: no faster on the metro
        flood day, 1.2x slower on the dry one, where a wider search kept
        from a station or scene answers more of the next questions.)
        """
        if self._pending:
            self._sync()
        full = self._cache.get(target)
        if full is not None:
            return self._to(target)
        for lim in self._limits_of.get(target, ()):
            key = (target, lim)
            hit = self._limited[key]
            if np.isfinite(hit[0][origin]):
                self._limited[key] = self._limited.pop(key)  # now the most recently used
                return hit
        limit = self.first_limit_s
        while limit < 8 * 3600.0:
            hit = self._within(target, limit)
            if np.isfinite(hit[0][origin]):
                return hit
            limit *= 4
        return self._to(target)

    def times_within(self, target: int, limit: float) -> np.ndarray:
        """Like :meth:`times_to`, but only nodes within ``limit`` s get a time (others ``inf``).

        A distance-limited Dijkstra settles only the nodes it needs, so its
        cost grows with the search radius, not with the city.
        """
        if self._pending:
            self._sync()
        key = (target, float(limit))
        hit = self._limited.get(key)
        if hit is None:
            dist = self._within(target, limit)[0]
            if key in self._limited:
                return dist
            return np.where(dist <= limit, dist, np.inf)
        return hit[0]

    def times_near(self, target: int, limit: float) -> np.ndarray:
        """Times to ``target``: exact for every node within ``limit`` s; farther ones exact or ``inf``.

        Cheaper than :meth:`times_within` when a wider search is cached: no copy.
        """
        return self._within(target, limit)[0]

    def cached_radius(self, target: int) -> float:
        """The widest search from ``target`` held now (``inf``: a full one; 0: none); free to ask again."""
        if self._pending:
            self._sync()
        if target in self._cache:
            return float("inf")
        lims = self._limits_of.get(target)
        return lims[-1] if lims else 0.0

    def times_to(self, target: int) -> np.ndarray:
        """Travel time in s from every node to ``target`` (``inf`` if unreachable)."""
        return self._to(target)[0]

    def time(self, origin: int, target: int) -> float:
        return float(self._reaching(origin, target)[0][origin])

    def free_flow_from(self, origins: list[int]) -> np.ndarray:
        """Free-flow time in s from the nearest of ``origins`` to every node: no closure, slow-down or cause.

        For orders fixed in advance (a utility's restoration plan ranks its
        sites by distance from the depots), which the day's closures must not
        reorder. One multi-source search of the forward graph; not cached.
        """
        if not origins:
            return np.full(self.n, np.inf)
        assert self._rev is not None
        free = csr_matrix((self._group_weights_at(np.ones(self.roads.n_links)), self._rev.indices,
                           self._rev.indptr), shape=(self.n, self.n))
        return dijkstra(free.T.tocsr(), indices=np.asarray(origins, dtype=np.int64), min_only=True)

    def route(self, origin: int, target: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes from ``origin`` to ``target`` and the time left to ``target`` at each (empty if unreachable).

        The arrays are the route at the road state of the call: a vehicle that
        keeps them drives it whatever closes later (see :func:`position_on`).
        Treat them as read-only: they are kept for the next call.
        """
        if self._pending:
            self._sync()
        key = (origin, target)
        hit = self._routes.get(key)
        if hit is None:
            dist, nxt = self._reaching(origin, target)
            out = [origin]
            if np.isfinite(dist[origin]):
                node = origin
                while node != target:
                    node = int(nxt[node])
                    out.append(node)
            else:
                out = []
            nodes = np.array(out, dtype=np.int64)
            if len(self._routes) >= 4096:
                o, t = next(iter(self._routes))
                del self._routes[(o, t)]
                self._routes_of[t].discard(o)
            hit = self._routes[key] = (nodes, dist[nodes])
            self._routes_of.setdefault(target, set()).add(origin)
        return hit

    def path(self, origin: int, target: int) -> list[int]:
        """Nodes from ``origin`` to ``target`` along the fastest route ([] if unreachable)."""
        return [int(n) for n in self.route(origin, target)[0]]

    def position(self, origin: int, target: int, elapsed_s: float) -> int:
        """The node a vehicle has reached ``elapsed_s`` after leaving ``origin`` for ``target``
        on the fastest route of the road state now (see :func:`position_on`)."""
        return position_on(self.route(origin, target), origin, elapsed_s)


def position_on(route: tuple[np.ndarray, np.ndarray], origin: int, elapsed_s: float) -> int:
    """The node reached ``elapsed_s`` after leaving ``origin`` along ``route`` (:meth:`RoadState.route`).

    The last node passed (a vehicle between two nodes is placed at the one
    behind it); ``origin`` when the route is empty (unreachable).
    """
    nodes, left = route
    if len(nodes) == 0:
        return origin
    # Time already driven at each node after the origin: increasing along the route.
    driven = left[0] - left[1:]
    return int(nodes[int(np.searchsorted(driven, elapsed_s, side="right"))])


def _touched(dist: np.ndarray, pred: np.ndarray,
             changes: list[tuple[int, int, float, float]] | tuple[np.ndarray, ...], limit: float) -> bool:
    """Whether a search from some target (times ``dist``, next hops ``pred``, exact up to ``limit``)
    can differ inside its radius after ``changes``.

    Each change (a tuple, or four arrays of them) is an arc tail -> head of the road graph (head -> tail in
    the reversed graph searched) whose weight went from ``old`` to ``new``.
    A slower arc matters only if it is in the search's tree (``pred[tail] ==
    head``): the tree's own arcs are unchanged and every other arc only got
    dearer, so the tree stays shortest. A faster arc matters only if it
    shortens its tail's time or ties it (``d[head] + new <= d[tail]``: on a
    tie a fresh search may take the other route, and paths must not depend
    on what happens to be cached), and in a limited
    search only if that time is inside the radius (beyond it the table reads
    ``inf`` either way; a head beyond the radius is ``inf`` too).
    """
    if isinstance(changes, tuple):  # many changes: as arrays
        head, tail, old, new = changes
        up = new > old
        if np.any(pred[tail[up]] == head[up]):
            return True
        down = ~up
        via = dist[head[down]] + new[down]
        return bool(np.any((via <= dist[tail[down]]) & (via <= limit) & np.isfinite(via)))
    for h, t, o, w in changes:
        if w > o:
            if pred[t] == h:
                return True
        else:
            via = dist[h] + w
            if via <= dist[t] and via <= limit and via != np.inf:
                return True
    return False
