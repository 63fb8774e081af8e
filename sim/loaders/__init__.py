"""Loaders of real networks: roads from OSMnx GraphML or TNTP, water from EPANET ``.inp``.

``city=from_files`` builds its city with :func:`build_from_files`; the
readers are public for scripts that want a network without a run. Every
reader raises :class:`~sim.config.ConfigError` naming the config key, the
file and the line of the problem.
"""

from sim.loaders.build import build_from_files, read_roads
from sim.loaders.epanet import EpanetModel, read_epanet
from sim.loaders.graphml import read_graphml
from sim.loaders.roads import LoadedRoads, RoadTable, build_roads
from sim.loaders.tntp import read_tntp

__all__ = [
    "EpanetModel",
    "LoadedRoads",
    "RoadTable",
    "build_from_files",
    "build_roads",
    "read_epanet",
    "read_graphml",
    "read_roads",
    "read_tntp",
]
