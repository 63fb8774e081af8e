"""Named random streams: the run owns its randomness.

One ``SeedSequence`` per run, split into child streams keyed by a stable name
(``city``, ``hazards``, ``calls``, ``service``, ...). A stream's seed depends
only on the run seed and the stream's name, never on the order in which
streams are asked for, so a change of policy or of unit count leaves the
hazards and the background calls where they were (common random numbers).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

__all__ = ["Parts", "Streams", "parts_of"]


#: Generators of the independent parts of a city build, keyed by name (see :func:`parts_of`).
Parts = Callable[[str], np.random.Generator]


def parts_of(rng: np.random.Generator) -> Parts:
    """Generators for the parts of a build that must not shift one another, keyed by name.

    One draw from ``rng`` now; each part's generator depends only on that
    draw and the part's name. So ambulance stations sited by a different
    count leave the water mains, the power grid and the gas network as they
    were: a sweep over a station count stays paired on everything else.
    """
    base = int(rng.integers(2**63))
    return lambda name: np.random.default_rng([base, zlib.crc32(name.encode("utf-8"))])


class Streams:
    """A factory of independent generators keyed by name."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._cache: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        """The generator of stream ``name`` (the same object on every call)."""
        if name not in self._cache:
            self._cache[name] = self.fresh(name)
        return self._cache[name]

    def fresh(self, name: str) -> np.random.Generator:
        """A new generator for ``name``, at the start of its stream."""
        key = zlib.crc32(name.encode("utf-8"))
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, key])))
