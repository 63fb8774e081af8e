"""Water service: valve segments, isolation of a break, customers out.

Segments follow the valve-segment definition of water-network resilience work
(Jun 2005; DOMAIN.md 5.1): a *segment* is the set of pipes and nodes that stay
joined when every valve is closed. Isolating a break closes the valves around
its segment; a valve that fails to close (probability ``valve_fail_prob``)
widens the isolation to the segment behind it. Customers are out when their
node lies in an isolated or depressurised segment, or is cut off from every
source once those pipes are out of service (unintended isolation).

Plain data and numpy/scipy only; the engine calls it when state changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from sim.city import WaterNetwork

__all__ = ["Isolation", "ValvesOf", "WaterState", "segments"]


def segments(net: WaterNetwork, n_nodes: int) -> tuple[np.ndarray, np.ndarray, ValvesOf]:
    """Label pipes and nodes by segment.

    Returns ``(pipe_seg, node_seg, valves_of)``: the segment of each pipe and of
    each road node (``-1`` for nodes with no pipe), and for each segment the
    indices of the valves on its boundary. A segment is a connected piece of
    the graph whose vertices are pipes and nodes, joined wherever a pipe end
    has no valve (one ``connected_components`` call).
    """
    p = net.n_pipes
    ends = np.concatenate([net.u, net.v]).astype(np.int64)
    pipe_of_end = np.concatenate([np.arange(p), np.arange(p)])
    valved = np.zeros(2 * p, dtype=bool)
    if net.valves:
        vp = np.array([v.pipe for v in net.valves], dtype=np.int64)
        vn = np.array([v.node for v in net.valves], dtype=np.int64)
        # A valve sits on the end of its pipe at its node (both ends of a loop pipe).
        valved[vp[net.u[vp] == vn]] = True
        valved[p + vp[net.v[vp] == vn]] = True
    open_end = ~valved
    g = coo_matrix((np.ones(int(open_end.sum())), (pipe_of_end[open_end], p + ends[open_end])),
                   shape=(p + n_nodes, p + n_nodes))
    _, labels = connected_components(g, directed=False)
    pipe_seg = labels[:p].astype(np.int64)
    node_seg = labels[p:].astype(np.int64)
    has_pipe = np.zeros(n_nodes, dtype=bool)
    has_pipe[net.u] = True
    has_pipe[net.v] = True
    node_seg[~has_pipe] = -1
    return pipe_seg, node_seg, ValvesOf(net, pipe_seg, node_seg)


class ValvesOf:
    """Segment -> the valves on its boundary, in valve order (CSR arrays, read like a dict's ``get``)."""

    def __init__(self, net: WaterNetwork, pipe_seg: np.ndarray, node_seg: np.ndarray) -> None:
        m = len(net.valves)
        vp = np.array([v.pipe for v in net.valves], dtype=np.int64)
        vn = np.array([v.node for v in net.valves], dtype=np.int64)
        # Each valve bounds the segment of its pipe and the segment of its node, in that order.
        seg = np.empty(2 * m, dtype=np.int64)
        seg[0::2] = pipe_seg[vp] if m else seg[0::2]
        seg[1::2] = node_seg[vn] if m else seg[1::2]
        order = np.argsort(seg, kind="stable")
        self._valve = (order // 2).astype(np.int64)
        keys, starts = np.unique(seg[order], return_index=True)
        self._starts = starts.astype(np.int64)
        self._ends = np.append(starts[1:], 2 * m).astype(np.int64)
        self._rank = {int(k): i for i, k in enumerate(keys.tolist())}

    def get(self, segment: int, default: list[int] | None = None) -> list[int]:
        i = self._rank.get(int(segment))
        if i is None:
            return [] if default is None else default
        return self._valve[int(self._starts[i]):int(self._ends[i])].tolist()

    def __getitem__(self, segment: int) -> list[int]:
        if int(segment) not in self._rank:
            raise KeyError(segment)
        return self.get(segment)

    def __contains__(self, segment: object) -> bool:
        return isinstance(segment, (int, np.integer)) and int(segment) in self._rank


@dataclass(frozen=True)
class Isolation:
    """The outcome of closing valves around a break."""

    pipe: int
    segments: frozenset[int]
    pipes: tuple[int, ...]  # pipes out of service
    failed_valves: tuple[int, ...]  # valves that would not close


class WaterState:
    """Which pipes are out of service, and who is without water."""

    def __init__(self, net: WaterNetwork, n_nodes: int) -> None:
        self.net = net
        self.n_nodes = n_nodes
        self.pipe_seg, self.node_seg, self.valves_of = segments(net, n_nodes)
        self.customers = net.customers.astype(np.int64)
        self.total = int(self.customers.sum())
        self.out_pipes: dict[int, set[int]] = {}  # cause pipe -> pipes out of service
        # Cascades from power: pressure zones whose booster pump stopped, and
        # high-rise blocks whose own boosters stopped (households above the
        # floors the mains reach).
        self.lifted_lost: dict[str, np.ndarray] = {}  # pump id -> nodes without pressure
        self.booster_lost: dict[str, tuple[int, int]] = {}  # high-rise id -> (node, households)
        self.depressurised: dict[int, set[int]] = {}  # cause pipe -> segments without pressure
        self._sources = np.array(net.sources, dtype=np.int64)
        self._csr: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # see _reach

    # ------------------------------------------------------------ isolation
    def isolate(self, pipe: int, valve_fails: np.ndarray) -> Isolation:
        """Close the valves around ``pipe``'s segment.

        ``valve_fails[k]`` says whether valve ``k`` would fail if operated
        (drawn once per break by the caller, so the outcome is reproducible).
        """
        seg0 = int(self.pipe_seg[pipe])
        isolated = {seg0}
        failed: list[int] = []
        frontier = [seg0]
        while frontier:
            s = frontier.pop()
            for k in self.valves_of.get(s, []):
                v = self.net.valves[k]
                other = {int(self.pipe_seg[v.pipe]), int(self.node_seg[v.node])} - {s}
                if not other or other <= isolated:
                    continue
                if valve_fails[k]:
                    failed.append(k)
                    for o in sorted(other):
                        if o not in isolated:
                            isolated.add(o)
                            frontier.append(o)
        pipes = tuple(int(j) for j in np.nonzero(np.isin(self.pipe_seg, sorted(isolated)))[0])
        return Isolation(pipe, frozenset(isolated), pipes, tuple(sorted(set(failed))))

    # -------------------------------------------------------------- changes
    def depressurise(self, pipe: int) -> None:
        """A break: its own segment loses pressure until it is isolated."""
        self.depressurised[pipe] = {int(self.pipe_seg[pipe])}

    def apply(self, iso: Isolation) -> None:
        self.depressurised.pop(iso.pipe, None)
        self.out_pipes[iso.pipe] = set(iso.pipes)

    def restore(self, pipe: int) -> None:
        self.depressurised.pop(pipe, None)
        self.out_pipes.pop(pipe, None)

    # -------------------------------------------------------------- service
    def served_nodes(self) -> np.ndarray:
        """Boolean per road node: has water (connected to a source, not isolated)."""
        out = set().union(*self.out_pipes.values()) if self.out_pipes else set()
        keep = np.ones(self.net.n_pipes, dtype=bool)
        if out:
            keep[sorted(out)] = False
        # Pipes out on their own, without closing their segment (squeezed shut).
        for pipes in getattr(self, "squeezed", {}).values():
            keep[sorted(pipes)] = False
        served = np.zeros(self.n_nodes, dtype=bool)
        reach = self._reach(keep)
        served[reach[reach < self.n_nodes]] = True
        # Nodes inside an isolated segment are dry even if a boundary valve
        # leaves them touching a live main.
        dead_segs = {int(self.pipe_seg[j]) for j in out}
        for segs in self.depressurised.values():
            dead_segs |= segs
        if dead_segs:
            served &= ~np.isin(self.node_seg, sorted(dead_segs))
        return served

    def _reach(self, keep: np.ndarray) -> np.ndarray:
        """Nodes reachable from a source over the pipes in ``keep`` (one BFS from a super-source).

        The graph's CSR structure (both directions of every pipe, and the
        super-source's arcs to the plants) is built once; a call filters its
        entries by ``keep`` instead of building a matrix from pairs, which
        would sort 4x10^5 entries per change of a metro's mains.
        """
        if self._csr is None:
            p, n = self.net.n_pipes, self.n_nodes
            s = n  # the super-source
            rows = np.concatenate([self.net.u, self.net.v, np.full(len(self._sources), s)]).astype(np.int64)
            cols = np.concatenate([self.net.v, self.net.u, self._sources]).astype(np.int64)
            pipe = np.concatenate([np.arange(p), np.arange(p), np.full(len(self._sources), -1)])
            order = np.lexsort((cols, rows))
            self._csr = (rows[order], cols[order].astype(np.int32), pipe[order])
        rows, cols, pipe = self._csr
        m = np.append(keep, True)[pipe]  # the super-source's arcs (pipe -1) are always kept
        indptr = np.zeros(self.n_nodes + 2, dtype=np.int32)
        np.cumsum(np.bincount(rows[m], minlength=self.n_nodes + 1), out=indptr[1:])
        g = csr_matrix((np.ones(int(m.sum())), cols[m], indptr), shape=(self.n_nodes + 1, self.n_nodes + 1))
        # Both directions are in the structure, so a directed search finds the undirected reach.
        return np.asarray(breadth_first_order(g, self.n_nodes, directed=True, return_predecessors=False))

    def customers_out(self) -> int:
        return self.customers_out_split()[0]

    def customers_out_split(self) -> tuple[int, int]:
        """``(all customers without water, those out only through a power cascade)``.

        A customer counts once: a node cut off by the mains is not counted
        again for its pump; booster households are capped at the node's
        customers."""
        served = self.served_nodes()
        out = int(self.customers[~served].sum())
        if not self.lifted_lost and not self.booster_lost:
            return out, 0
        lost = np.zeros(self.n_nodes, dtype=bool)
        for nodes in self.lifted_lost.values():
            lost[nodes] = True
        lost &= served
        cascade = int(self.customers[lost].sum())
        if self.booster_lost:
            extra = np.zeros(self.n_nodes, dtype=np.int64)
            for node, households in self.booster_lost.values():
                extra[node] += households
            ok = served & ~lost
            cascade += int(np.minimum(extra, self.customers)[ok].sum())
        return out + cascade, cascade
