"""Gas service: shut-off segments and the long tail of relighting.

The gas network has the structure of the water network (gate stations as
sources, shut-off valves, customer accounts per node), so isolation follows
the same valve-segment rules (:class:`sim.water.WaterState`). What differs is
the return of service: when a main is back, every customer it cut off stays
without gas until a technician has checked the meter, purged the line and
relit the appliances, house by house. :class:`GasState` keeps those
customers as *unlit* until the engine's relighting crews reach them.
"""

from __future__ import annotations

import numpy as np

from sim.city import WaterNetwork
from sim.water import WaterState

__all__ = ["GasState"]


class GasState(WaterState):
    def __init__(self, net: WaterNetwork, n_nodes: int) -> None:
        super().__init__(net, n_nodes)
        self.unlit = np.zeros(n_nodes, dtype=np.int64)
        self.squeezed: dict[int, set[int]] = {}

    def squeeze_off(self, pipe: int) -> None:
        """Take only ``pipe`` out of service (PE mains are squeezed shut either side of
        the damage, no valves needed): its ends stay live unless cut off from every source."""
        self.squeezed[pipe] = {pipe}

    def restore(self, pipe: int) -> None:
        super().restore(pipe)
        self.squeezed.pop(pipe, None)

    def restore_unlit(self, pipe: int) -> int:
        """Put ``pipe``'s isolation back in service; the customers it had cut off
        become unlit (they still have no gas). Returns how many."""
        before = self.served_nodes()
        self.restore(pipe)
        back = self.served_nodes() & ~before
        self.unlit[back] += self.customers[back]
        return int(self.customers[back].sum())

    def relight(self, count: int) -> int:
        """Relight up to ``count`` customers, lowest node first; returns how many were relit."""
        done = 0
        for node in np.nonzero(self.unlit)[0]:
            if done >= count:
                break
            k = int(min(self.unlit[node], count - done))
            self.unlit[node] -= k
            done += k
        return done

    def customers_out(self) -> int:
        served = self.served_nodes()
        return int(self.customers[~served].sum() + self.unlit[served].sum())
