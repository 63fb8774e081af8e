"""Named random streams: the run owns its randomness.

One ``SeedSequence`` per run, split into child streams keyed by a stable name
(``city``, ``hazards``, ``calls``, ``service``, ...). A stream's seed depends
only on the run seed and the stream's name, never on the order in which
streams are asked for, so a change of policy or of unit count leaves the
hazards and the background calls where they were (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["Streams"]


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
