"""cityres engine: the city as data, named random streams, and the SimPy engine.

The public API for scripts; the command line lives in :mod:`sim.cli`.
"""

from sim.city import City
from sim.config import Config, ConfigError, validate
from sim.rng import Streams

__version__ = "0.1.0"

__all__ = ["City", "Config", "ConfigError", "Streams", "__version__", "validate"]
