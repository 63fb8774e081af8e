"""Metrics and reports computed from run folders (never from the engine).

Reads the tables a run leaves (:mod:`analysis.rundir`), computes response-time
fractiles and standards compliance (:mod:`analysis.metrics`) and lifeline
resilience (:mod:`analysis.resilience`), and writes the per-run report
(:mod:`analysis.report`). Across runs: a sweep becomes a tidy table
(:mod:`analysis.collect`), options are compared with paired intervals
(:mod:`analysis.compare`, :mod:`analysis.inference`); a run becomes a drill
script (:mod:`analysis.drill`) or GeoJSON layers (:mod:`analysis.export`).
Imports nothing from ``sim`` but its record schema, :mod:`sim.log`.
"""

from analysis.collect import Collection, collect, write_collection
from analysis.compare import Comparison, compare
from analysis.drill import Drill, DrillOptions, build_drill, write_drill
from analysis.export import export_geojson
from analysis.inference import paired_difference, replications_needed, welch_difference
from analysis.metrics import (
    COMPONENTS,
    Compliance,
    Standards,
    Stats,
    compliance,
    emergency,
    fractile,
    outcome_counts,
    response_components,
    response_table,
    standards_compliance,
    summarize,
)
from analysis.report import headline, report_context, write_report
from analysis.resilience import (
    OutageIndices,
    Recovery,
    ServiceCurve,
    ServiceResilience,
    customer_hours_lost,
    min_served,
    outage_indices,
    recovery,
    resilience_loss,
    service_curve,
    service_resilience,
)
from analysis.rundir import Run, load_run, run_horizon

__all__ = [
    "Collection",
    "Comparison",
    "Drill",
    "DrillOptions",
    "build_drill",
    "collect",
    "compare",
    "export_geojson",
    "paired_difference",
    "replications_needed",
    "welch_difference",
    "write_collection",
    "write_drill",
    "COMPONENTS",
    "Compliance",
    "OutageIndices",
    "Recovery",
    "Run",
    "ServiceCurve",
    "ServiceResilience",
    "Standards",
    "Stats",
    "compliance",
    "customer_hours_lost",
    "emergency",
    "fractile",
    "headline",
    "load_run",
    "min_served",
    "outage_indices",
    "outcome_counts",
    "recovery",
    "report_context",
    "resilience_loss",
    "response_components",
    "response_table",
    "run_horizon",
    "service_curve",
    "service_resilience",
    "standards_compliance",
    "summarize",
    "write_report",
]
