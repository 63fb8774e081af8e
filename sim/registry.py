"""Names the config may choose from: city generators and scenarios.

Kept free of heavy imports so that :func:`sim.config.validate` can list the
allowed values in its error messages.
"""

from __future__ import annotations

__all__ = ["CITY_KINDS", "SCENARIOS"]

#: city.kind -> "module:function" building a City from (CityConfig, Generator).
CITY_KINDS: dict[str, str] = {
    "district": "sim.district:build_district",
    "from_files": "sim.loaders:build_from_files",
    "metro": "sim.district:build_district",
}

#: scenario.name -> "module:function" building hazards from (ScenarioConfig, City, Generator, horizon_s).
SCENARIOS: dict[str, str] = {
    "none": "scenarios.base:no_hazards",
    "pipe_burst": "scenarios.pipe_burst:build",
}
