"""Writing a drill script: Markdown, CSV for Excel, printable HTML and the evaluation checklist.

The rendering half of :mod:`analysis.drill`: :func:`inject_rows` and
:func:`checklist_rows` are the tables (header row first) that the CSV files
hold, :func:`render_markdown` and :func:`render_html` fill
``analysis/templates/drill.{md,html}.j2``, and :func:`write_files` writes
everything, each file to a temporary name in its folder and renamed into
place. CSV files are UTF-8 with a byte-order mark and CRLF line ends, which
Excel needs to open Chinese text correctly; cells with several lines (the
expected actions) are quoted. The HTML is self-contained, escapes every value
(Jinja2 autoescape) and prints on A4 landscape.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

import jinja2

from analysis.drill import CheckItem, Drill, Inject
from analysis.drill_playbook import fmt_clock, fmt_elapsed
from analysis.rundir import atomic_write

__all__ = ["checklist_rows", "file_names", "inject_rows", "render_html", "render_markdown", "write_files"]

#: Columns of the inject table, as label keys of the playbook.
INJECT_COLUMNS = (
    "col_number", "col_kind", "col_exercise_time", "col_elapsed", "col_scenario_time", "col_sender",
    "col_receiver", "col_mode", "col_message", "col_actions", "col_objective", "col_target", "col_trigger",
    "col_notes", "col_event", "col_line", "col_scope", "col_incident", "col_t_s",
)
CHECKLIST_COLUMNS = (
    "ck_code", "ck_objective", "ck_capability", "ck_scope", "ck_injects", "ck_target", "ck_source",
    "ck_observed", "ck_met", "ck_exercise", "ck_rating", "ck_remarks",
)


def file_names(drill: Drill) -> dict[str, str]:
    """Output file names: one set per exercise type and language, so that they live side by side."""
    stem = f"{drill.exercise_type}-{drill.lang}"
    return {"md": f"drill-{stem}.md", "csv": f"drill-{stem}.csv", "html": f"drill-{stem}.html",
            "checklist": f"checklist-{stem}.csv"}


def _actions(inj: Inject) -> str:
    return "\n".join(f"{i}. {a}" for i, a in enumerate(inj.actions, 1))


def inject_rows(drill: Drill) -> list[list[str]]:
    """The inject table: a header row, then the main sequence and the contingency injects."""
    lab = drill.labels
    rows = [[lab[c] for c in INJECT_COLUMNS]]
    for inj in drill.injects + drill.contingencies:
        rows.append([
            inj.label, lab["kind_contingency" if inj.contingency else "kind_inject"], fmt_clock(inj.exercise_clock),
            fmt_elapsed(inj.elapsed_s), fmt_clock(inj.scenario_clock), inj.sender_name, inj.receiver_name,
            inj.mode_name, inj.message, _actions(inj), inj.objective_text, inj.target_text, inj.trigger, inj.notes,
            inj.event_ref, str(inj.event_line), inj.event_scope, inj.hazard or str(inj.incident), f"{inj.event_t_s:.3f}",
        ])
    return rows


def _met(drill: Drill, item: CheckItem) -> str:
    return drill.labels["na" if item.met is None else "met_yes" if item.met else "met_no"]


def _objective(drill: Drill, item: CheckItem) -> str:
    return f"{item.name}{'：' if drill.lang == 'zh' else ': '}{item.text}"


def checklist_rows(drill: Drill) -> list[list[str]]:
    """The evaluation checklist (AQ/T 9009-2015 in spirit): header row, then one row per objective."""
    lab = drill.labels
    rows = [[lab[c] for c in CHECKLIST_COLUMNS]]
    for it in drill.checklist:
        rows.append([it.code, _objective(drill, it), it.capability, it.applies_to, ", ".join(it.injects), it.target,
                     it.source, it.observed, _met(drill, it), "", "", ""])
    return rows


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def _env(autoescape: bool) -> jinja2.Environment:
    folder = resources.files("analysis").joinpath("templates")

    def load(name: str) -> str:
        return folder.joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(loader=jinja2.FunctionLoader(load), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["clock"] = fmt_clock
    env.filters["elapsed"] = fmt_elapsed
    env.filters["cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", "<br>")
    return env


def _context(drill: Drill) -> dict[str, object]:
    return {"d": drill, "L": drill.labels, "html_lang": "zh-CN" if drill.lang == "zh" else "en",
            "tabletop": drill.exercise_type == "tabletop",
            "checklist": [(it, _objective(drill, it), _met(drill, it)) for it in drill.checklist]}


def render_markdown(drill: Drill) -> str:
    return _env(autoescape=False).get_template("drill.md.j2").render(**_context(drill))


def render_html(drill: Drill) -> str:
    return _env(autoescape=True).get_template("drill.html.j2").render(**_context(drill))


def write_files(drill: Drill, out_dir: str | Path) -> list[Path]:
    """Write the Markdown, CSV and HTML script and the checklist CSV into ``out_dir``; return the paths."""
    out = Path(out_dir)
    names = file_names(drill)
    payloads = {
        "md": render_markdown(drill).encode("utf-8"),
        "csv": _csv_bytes(inject_rows(drill)),
        "html": render_html(drill).encode("utf-8"),
        "checklist": _csv_bytes(checklist_rows(drill)),
    }
    paths = []
    for key, data in payloads.items():
        path = out / names[key]
        atomic_write(path, data)
        paths.append(path)
    return paths
