"""The record schema of a run folder: the only module of ``sim`` that analysis imports.

The engine appends :class:`Record` rows while it runs (state on change, never
by sampling); :mod:`sim.output` writes them as CSV. Analysis reads the CSV
files back and rebuilds step functions by forward fill. Column lists here are
the contract documented in the README.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "CITY_FILES",
    "EVENT_COLUMNS",
    "EVENT_KINDS",
    "HAZARD_COLUMNS",
    "INCIDENT_COLUMNS",
    "LATER_INCIDENT_COLUMNS",
    "LIGHT_NOTE",
    "OUTCOMES",
    "RUN_FILES",
    "SERVICE_COLUMNS",
    "Record",
    "ServiceRecord",
]


class Record(NamedTuple):
    """One row of ``events.csv``."""

    t_s: float
    kind: str
    scope: str
    incident: int | None = None
    value: float | None = None
    note: str = ""


class ServiceRecord(NamedTuple):
    """One row of ``service.csv``: a lifeline's state after a change."""

    t_s: float
    lifeline: str
    served_fraction: float
    customers_out: int
    customers_total: int
    cause: str = ""


EVENT_COLUMNS = ("t_s", "kind", "scope", "incident", "value", "note")
SERVICE_COLUMNS = ("t_s", "lifeline", "served_fraction", "customers_out", "customers_total", "cause")
HAZARD_COLUMNS = ("hazard", "t_s", "kind", "scope", "params")
INCIDENT_COLUMNS = (
    "incident",  # integer id; scope incident.{id}
    "type",  # run-card key: fire, medical, rescue, water_main_break, ...
    "severity",  # 1 most urgent
    "source",  # background | hazard id (e.g. H1)
    "scope",  # the place or asset: roads.node.123, water.pipe.P17
    "node",  # road node of the scene
    "x_m",
    "y_m",
    "zone",
    "t_occur_s",  # when it happened
    "t_report_s",  # when the call (or alarm) reached the dispatch centre
    "t_dispatch_s",  # first dispatch order (empty if never dispatched)
    "t_enroute_s",  # when the first-arriving unit started travelling
    "t_arrival_s",  # first unit on scene
    "t_control_s",  # work on scene done (fire out, patient handed over, main repaired)
    "t_close_s",  # last unit cleared
    "first_unit",  # scope of the first-arriving unit
    "n_units",  # units that arrived
    "outcome",  # resolved | unserved | open_at_end
    "wait_s",  # time the call waited in the queue for a free unit after processing
    "t_unit_dispatch_s",  # when the first-arriving unit was assigned (may be after t_dispatch_s)
    "t_full_alarm_s",  # the run card complete on scene (by kind and number, whichever units); empty if never
    "full_alarm_travel_s",  # the longest travel (en route to arrival) among the units that completed the card
)
#: Incident columns added after the first run folders were written: absent in older folders (read as empty).
LATER_INCIDENT_COLUMNS = ("t_full_alarm_s", "full_alarm_travel_s")
OUTCOMES = ("resolved", "unserved", "open_at_end")
#: The note of a ``road_close``/``road_open`` by the flood to light vehicles
#: (``scenario.waterlogging.roads.light_kinds``); ``flood`` closes a road to every unit
#: (and such a road was closed to light vehicles first, under this note).
LIGHT_NOTE = "flood: light vehicles"

#: Event kinds in ``events.csv`` and what ``scope``/``value`` mean for each.
EVENT_KINDS: dict[str, str] = {
    "occur": "incident happens; scope = place; value = severity",
    "report": "call or alarm reaches dispatch; scope = place; value = s since the incident; note = what raised "
              "it for a main break or gas leak (customer_calls | pressure_monitoring | gas_monitoring)",
    "queue": "no capable unit free; scope = requested kind (units.KIND); value = queue length",
    "dispatch": "unit assigned; scope = unit; value = expected travel s",
    "retask": "unit sent on without going back to quarters (diverted on its way back, or straight from a scene); scope = unit; value = expected travel s",
    "enroute": "unit starts travelling (turnout over); scope = unit",
    "arrive": "unit on scene; scope = unit; value = travel s",
    "control": "work on scene done; scope = place",
    "clear": "unit leaves the scene; scope = unit",
    "in_quarters": "unit back at its station; scope = unit",
    "close": "incident closed; scope = place; note = outcome",
    "burst": "water main breaks; scope = water.pipe.ID",
    "isolate": "valves closed; scope = water.pipe.ID; value = customers out city-wide once isolated (all open breaks)",
    "valve_fail": "a valve could not be closed; scope = water.valve.ID or gas.valve.ID",
    "repair": "repair starts; scope = water.pipe.ID or power.*; value = expected duration s",
    "restore": "main, substation or feeder back in service; scope = water.pipe.ID, gas.pipe.ID (value = customers "
               "left to relight) or power.*",
    "road_close": "road link closed; scope = roads.link.ID; flood: value = depth m, note = flood (closed to units), 'flood: light vehicles' (closed to ambulances and utility crews, from 30 cm; a road closed to all is logged under both notes) or 'early warning: closed to public traffic' (units may pass)",
    "road_open": "road link reopened; scope = roads.link.ID; flood: value = depth m, note as road_close",
    "power_fault": "a substation or feeder fails; scope = power.substation.ID or power.feeder.ID",
    "lifeline_down": "a component goes down; scope = component; value = what it affects "
                     "(customers, lifted nodes, households, links, trapped elevators, backup h); note = cause=<scope>",
    "lifeline_up": "a component comes back; scope = component; note = cause=<scope it had lost>",
    "leak": "gas leaks; scope = gas.pipe.ID (a main) or roads.node.N (bottled LPG)",
    "evacuate": "the first unit on scene clears a cordon; value = households inside; note = radius",
    "shut_off": "gas valves closed around the leak; value = gas customers out city-wide; note = segment=G1,G2,...",
    "relight": "gas customers relit since the last record; value = customers still unlit from this shut-off",
    "all_clear": "the cordon is lifted; value = households that were evacuated",
    "ignite": "a fire starts: an e-bike battery (highrise_fire; scope = buildings.highrise.ID; value = origin floor; "
              "note = location, smoke route) or leaking gas (a gas_fire incident follows; scope = the leak)",
    "detect": "fire detected (smoke alarm or discovery); scope = building; value = s after ignition",
    "untenable": "a floor's common space becomes untenable; scope = buildings.highrise.ID.floor.N; value = floor",
    "second_alarm": "second alarm called at first arrival; scope = building; value = floors untenable then",
    "first_water": "first water on the fire; scope = unit (or units.street_team); value = s after ignition; note = pressure or relay",
    "exposed": "fire outcome at first water (or the horizon); scope = building; value = expected people exposed to untenable conditions",
    "casualties": "fire outcome at first water (or the horizon); scope = building; value = expected casualties (coarse model, sim/fire.py)",
    "rain_start": "rain begins; scope = weather.rain; value = storm total mm",
    "rain_end": "the last step of rain has fallen; scope = weather.rain; value = rain so far mm",
    "flood": "water depth on a road link changed (rounded to the depth step); scope = roads.link.ID; value = depth m",
    "road_slow": "flood slow-down of a link; scope = roads.link.ID; value = travel-time factor (1 = dry); note = depth",
    "ponding": "depth at a catchment's low point changed; scope = roads.node.ID; value = depth m",
    "flood_point": "a flooding point starts (low point deeper than the threshold, 10 cm); scope = roads.node.ID; value = depth m",
    "flood_clear": "a flooding point clears; scope = roads.node.ID; value = how long it lasted s",
    "flood_over": "no water stored anywhere after the rain; scope = weather.rain; value = overflow m3",
    "flood_trip": "flood water at a substation's site deeper than its threshold trips it; scope = power.substation.ID; value = depth m",
    "warning": "early warning issued; scope = weather.rain; value = forecast peak intensity mm/h",
    "horizon": "the run stops; scope = run",
}

#: Files every successful run leaves (besides Hydra's .hydra/).
RUN_FILES = (
    "hazards.csv",
    "events.csv",
    "service.csv",
    "incidents.csv",
    "summary.json",
    "report.md",
    "report.html",
)

#: Geometry for maps, written under ``city/`` so that analysis never rebuilds the city.
CITY_FILES = {
    "nodes.csv": ("node", "x_m", "y_m", "elev_m"),
    "links.csv": ("link", "u", "v", "road_class", "length_m", "speed_kmh", "bridge", "tunnel", "underpass"),
    "stations.csv": ("station", "kind", "node", "x_m", "y_m", "units"),
    "zones.csv": ("zone", "name", "node", "x_m", "y_m", "area_km2", "population", "households"),
    "pipes.csv": ("pipe", "u", "v", "length_m", "diameter_mm", "material", "install_year", "road_link"),
    # Sites that lifelines depend on: hospital | substation | pump_station (water booster); zone may be "".
    "facilities.csv": ("facility", "kind", "node", "x_m", "y_m", "zone"),
}
