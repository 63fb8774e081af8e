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
    "compound": "scenarios.base:compound",
    "pipe_burst": "scenarios.pipe_burst:build",
    "power_outage": "scenarios.power_outage:build",
    "gas_leak": "scenarios.gas_leak:build",
    "ebike_fire": "scenarios.ebike_fire:build",
    "ebike_fire_case_0223": "scenarios.ebike_fire:build",  # the 2·23 replay: explicit fire, same generator
    "waterlogging": "scenarios.waterlogging:build",
}
