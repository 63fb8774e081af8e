"""Hazard generators: pure, seeded functions of (config, city, generator); no SimPy."""

from scenarios.background import Call, background_calls
from scenarios.base import Hazard, build, hazard_rows, no_hazards

__all__ = ["Call", "Hazard", "background_calls", "build", "hazard_rows", "no_hazards"]
