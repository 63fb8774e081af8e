"""Readable names and units of every headline metric a run writes (``summary.json`` → ``metrics``).

The comparison report (:mod:`analysis.compare` and its figures) names a
metric and its unit from :data:`METRIC_LABELS`. The keys follow the code that
writes them: :func:`analysis.report.headline` (incident counts, response
segments, standards compliance, one block per lifeline), the fire metrics of
:func:`analysis.fire.fire_headline` (``fire_``) and the flood numbers of
:func:`analysis.flood.flood_headline` flattened with a ``flood_`` prefix.
The table is written out, not guessed from a key's suffix: a new metric gets
its label here, and the tests fail until it does. The standards' value at the
fractile (``*_fractile_s``) follows ``standards.fractile`` of the runs:
:func:`metric_label` names it ("p90") when given that fractile, and says "at
the standards' fractile" when not.
"""

from __future__ import annotations

__all__ = ["METRIC_LABELS", "metric_label"]

#: How a ``*_fractile_s`` label names its fractile when the runs' ``standards.fractile`` is not known.
_AT_FRACTILE = "value at the standards' fractile"

_SEGMENTS: dict[str, str] = {
    "call_processing": "call processing",
    "queue_wait": "queue wait",
    "turnout": "turnout",
    "travel": "travel",
    "dispatch_to_arrival": "dispatch to arrival",
    "response": "total response (call to arrival)",
}

#: Standards objectives of :func:`analysis.metrics.standards_compliance`.
_STANDARDS: dict[str, str] = {
    "gb51080": "GB 51080 dispatch to arrival ≤ 5 min (fire, rescue)",
    "nfpa_turnout_fire": "NFPA 1710 turnout ≤ 80 s (fire, rescue)",
    "nfpa_turnout_ems": "NFPA 1710 turnout ≤ 60 s (medical)",
    "nfpa_travel": "NFPA 1710 travel ≤ 4 min (fire, rescue, medical)",
    "nfpa_travel_als": "NFPA 1710 ALS travel ≤ 8 min (medical)",
    "nfpa_full_alarm": "NFPA 1710 full alarm travel ≤ 8 min (fire)",
    "nfpa_full_alarm_highrise": "NFPA 1710 full alarm travel ≤ 10 min 10 s (high-rise fire)",
}

#: Service curves in ``service.csv`` (``water.cascade``: customers without water only through a power cascade).
_LIFELINES: dict[str, str] = {
    "water": "Water",
    "water_cascade": "Water lost through power cascades",
    "power": "Power",
    "gas": "Gas",
}

#: Fields of :class:`analysis.resilience.ServiceResilience`, and the cascade share.
_RESILIENCE: dict[str, tuple[str, str]] = {
    "resilience_loss_s": ("resilience loss ∫(1 − Q) dt", "s"),
    "resilience_loss_h": ("resilience loss ∫(1 − Q) dt", "h"),
    "resilience_loss_pct": ("resilience loss, share of the horizon", "%"),
    "mean_served": ("mean served fraction", ""),
    "min_served": ("minimum served fraction", ""),
    "t_min_s": ("time of the lowest service", "s"),
    "t_disrupted_s": ("time service first dropped", "s"),
    "t_recovered_s": ("time service was last restored", "s"),
    "time_to_recover_s": ("time from first drop to full service", "s"),
    "customer_hours_lost": ("customer-hours lost", "customer-h"),
    "customers_total": ("customers connected", "customers"),
    "customers_interrupted": ("customers interrupted", "customers"),
    "saifi": ("SAIFI (interruptions per customer)", ""),
    "saidi_h": ("SAIDI", "h"),
    "caidi_h": ("CAIDI", "h"),
    "asai": ("ASAI (service availability)", ""),
    "cascade_share": ("share of customer-hours lost through cascades", ""),
}

_FIRE: dict[str, tuple[str, str]] = {
    "fire_n": ("High-rise fires", "fires"),
    "fire_first_water_mean_s": ("Mean ignition to first water", "s"),
    "fire_first_water_max_s": ("Longest ignition to first water", "s"),
    "fire_first_water_after_report_mean_s": ("Mean call to first water", "s"),
    "fire_n_no_water": ("Fires without water on them by the horizon", "fires"),
    "fire_floors_untenable_total": ("Floors untenable, all fires", "floors"),
    "fire_exposed_total": ("Expected people exposed to smoke", "people"),
    "fire_casualties_total": ("Expected fire casualties", "people"),
    "fire_casualties_per_fire": ("Expected casualties per fire", "people"),
}

_FLOOD: dict[str, tuple[str, str]] = {
    "flood_rain_start_s": ("Rain start", "s"),
    "flood_rain_end_s": ("Rain end", "s"),
    "flood_flooded_road_km_h": ("Flooded road length × time (depth > 10 cm)", "road-km·h"),
    "flood_peak_closed_roads": ("Most roads closed at once by water", "roads"),
    "flood_peak_closed_roads_light": ("Most roads closed at once by water to ambulances and utility crews",
                                      "roads"),
    "flood_flood_points": ("Flood points (ponding > 10 cm)", "points"),
    "flood_flood_points_met_2h_aim": ("Flood points cleared within 2 h of the rain", "points"),
    "flood_clear_after_rain_max_s": ("Longest time to clear a flood point after the rain", "s"),
    "flood_clear_after_rain_median_s": ("Median time to clear a flood point after the rain", "s"),
    "flood_vehicles_trapped": ("Calls for vehicles trapped by water", "calls"),
    "flood_people_trapped_calls": ("Calls for people trapped by water", "calls"),
    "flood_flood_peak_t_s": ("Time of the flood peak", "s"),
}


def _flood_detail() -> dict[str, tuple[str, str]]:
    """The flood numbers nested in ``summary.json`` → ``flood`` (coverage, response inflation), flattened."""
    out: dict[str, tuple[str, str]] = {}
    for when, what in (("dry", "dry roads"), ("peak", "roads at the flood peak")):
        for limit in (300, 480, 600):
            out[f"flood_coverage_{when}_within_{limit}s"] = (
                f"Share of population within a {limit // 60}-min drive of a fire station, {what}", "share")
    for part, what in (("all", "all background calls"), ("flood", "calls during the flood")):
        pre = f"flood_response_inflation_{part}"
        out[f"{pre}_n_pairs"] = (f"Calls paired with the dry run, {what}", "calls")
        for stat, name in (("mean", "mean"), ("median", "median"), ("p90", "p90"), ("max", "largest")):
            out[f"{pre}_{stat}_s"] = (f"Response delay from flooding ({name}, wet − dry), {what}", "s")
        out[f"{pre}_dry_mean_s"] = (f"Mean total response in the dry run, {what}", "s")
        out[f"{pre}_wet_mean_s"] = (f"Mean total response in the flooded run, {what}", "s")
    return out


def _table() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {
        "horizon_s": ("Horizon", "s"),
        "n_incidents": ("Incidents", "incidents"),
        "n_resolved": ("Incidents resolved", "incidents"),
        "n_unserved": ("Incidents no capable unit could serve", "incidents"),
        "n_open_at_end": ("Incidents open at the horizon", "incidents"),
        "n_reached": ("Incidents reached", "incidents"),
        "n_not_reached": ("Incidents never reached", "incidents"),
        "n_open_not_reached": ("Incidents open at the horizon, no unit on scene", "incidents"),
        "n_emergency": ("Emergency incidents", "incidents"),
    }
    for key, name in _SEGMENTS.items():
        for q in ("p50", "p90"):
            out[f"{key}_{q}_s"] = (f"{q} {name}", "s")
    out["response_mean_s"] = ("Mean total response (call to arrival)", "s")
    for key, name in _STANDARDS.items():
        out[f"{key}_compliance"] = (f"{name}: share within target", "")
        out[f"{key}_compliance_lower"] = (f"{name}: share within target, unmeasured as missed", "")
        out[f"{key}_fractile_s"] = (f"{name}: {_AT_FRACTILE} of the measure", "s")
        out[f"{key}_pass"] = (f"{name}: met (1 = yes)", "")
        out[f"{key}_n"] = (f"{name}: incidents measured", "incidents")
        out[f"{key}_n_unmeasured"] = (f"{name}: incidents not measured", "incidents")
    for life, name in _LIFELINES.items():
        for field, (what, unit) in _RESILIENCE.items():
            if life.endswith("_cascade") and field == "cascade_share":
                continue  # a cascade curve has no cascades of its own
            out[f"{life}_{field}"] = (f"{name} {what}", unit)
    out.update(_FIRE)
    out.update(_FLOOD)
    out.update(_flood_detail())
    # The headline names the comparison report has always shown.
    out["water_customer_hours_lost"] = ("Water customer-hours lost", "customer-h")
    out["water_min_served"] = ("Water minimum served fraction", "")
    out["gb51080_compliance"] = ("GB 51080 compliance (share within 5 min)", "")
    return out


#: metric key -> (readable name, unit); "" for a unit-free number (a ratio), "share" for a fraction 0–1 (printed
#: as a bare number). ``*_fractile_s`` names say "value at the standards' fractile": see :func:`metric_label`.
METRIC_LABELS: dict[str, tuple[str, str]] = _table()


def metric_label(metric: str, fractile: float | None = None) -> tuple[str, str]:
    """(readable name, unit) of a headline metric; an unlisted key is shown as itself, with no unit.

    A collection names a metric ``metric_<key>`` when ``<key>`` is also a run
    column (``n_incidents``; see :func:`analysis.collect.collect`): it gets
    the label of ``<key>``. ``fractile`` is the runs' ``standards.fractile``
    (0.9 names a ``*_fractile_s`` metric "p90"); without it the label says
    "value at the standards' fractile".
    """
    key = metric if metric in METRIC_LABELS else metric.removeprefix("metric_")
    if key not in METRIC_LABELS:
        return metric, ""
    name, unit = METRIC_LABELS[key]
    if fractile is not None and key.endswith("_fractile_s") and _AT_FRACTILE in name:
        name = name.replace(_AT_FRACTILE, f"p{100 * fractile:g}")
    return name, unit
