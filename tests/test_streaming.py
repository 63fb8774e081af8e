"""A long run streams its log: the tables are written in chunks while it runs, and memory holds
only the open incidents and the last chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import engine
from sim.config import Config
from sim.log import Record
from sim.output import RunSink, event_cells, fmt
from sim.runner import prepare, simulate


def two_days(seed: int = 4) -> Config:
    cfg = Config(seed=seed)
    cfg.scenario.name = "pipe_burst"
    cfg.run.horizon_s = 2 * 86400.0
    cfg.run.report = False
    return cfg


def test_streamed_tables_equal_the_whole_log_written_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = simulate(two_days(), tmp_path / "whole")  # default chunk: the log fits in one
    calls: list[tuple[str, int]] = []
    events, incidents = RunSink.events, RunSink.incidents

    def spy_events(self: RunSink, rows: list) -> None:  # type: ignore[type-arg]
        calls.append(("events", len(rows)))
        events(self, rows)

    def spy_incidents(self: RunSink, rows: list) -> None:  # type: ignore[type-arg]
        calls.append(("incidents", len(rows)))
        incidents(self, rows)

    monkeypatch.setattr(engine, "CHUNK_ROWS", 40)  # events every 40 rows, incidents every 4
    monkeypatch.setattr(RunSink, "events", spy_events)
    monkeypatch.setattr(RunSink, "incidents", spy_incidents)
    streamed = simulate(two_days(), tmp_path / "streamed")
    for name in ("events.csv", "incidents.csv", "service.csv", "hazards.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "streamed" / name).read_bytes(), name
    assert streamed["n_events"] == whole["n_events"] > 400
    assert streamed["n_incidents"] == whole["n_incidents"] > 100
    # Handed on in chunks while the run went on (the last call of each is the rest, at the end).
    ev = [n for kind, n in calls if kind == "events"]
    inc = [n for kind, n in calls if kind == "incidents"]
    assert len(ev) > 10 and all(n == 40 for n in ev[:-1])
    assert len(inc) > 20 and all(n == 4 for n in inc[:-1])
    lines = (tmp_path / "streamed" / "events.csv").read_text().count("\n")
    assert lines == whole["n_events"] + 1


def test_a_long_run_holds_only_open_incidents_and_the_last_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty days of background calls: what the engine holds at any time does not grow with the horizon."""
    cfg = Config(seed=1)
    cfg.scenario.name = "none"
    cfg.run.horizon_s = 20 * 86400.0
    prep = prepare(cfg)

    class Counting:
        def __init__(self) -> None:
            self.events = 0
            self.incidents = 0

        def events_(self, rows: list) -> None:  # type: ignore[type-arg]
            self.events += len(rows)

        def incidents_(self, rows: list) -> None:  # type: ignore[type-arg]
            self.incidents += len(rows)

    counter = Counting()
    sink = type("Sink", (), {"events": lambda _s, rows: counter.events_(rows),
                             "incidents": lambda _s, rows: counter.incidents_(rows)})()
    monkeypatch.setattr(engine, "CHUNK_ROWS", 500)
    held: list[int] = []
    closed = engine._World.closed

    def watch(self: engine._World) -> None:
        closed(self)
        held.append(len(self.live) + len(self.log.incidents) + len(self.log.events) // 10)

    monkeypatch.setattr(engine._World, "closed", watch)
    log = engine.run(prep.city, prep.hazards, prep.calls, prep.policy, cfg.run.horizon_s, prep.streams, sink=sink)
    total = log.n_incidents
    assert total == len(prep.calls) > 1500
    assert counter.incidents + len(log.incidents) == total
    assert counter.events + len(log.events) == log.n_events
    # Live incidents, unflushed incidents and events never exceed a bound set by the chunk size,
    # however many days pass (without streaming they would grow to every incident of the run).
    assert max(held) < 50 + 50 + 50 + 20
    assert max(held[len(held) // 2:]) <= 2 * max(held[: len(held) // 2]) + 20


def test_a_failed_run_leaves_no_event_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: engine._World, *args: object) -> None:
        raise RuntimeError("unit radio failed")

    monkeypatch.setattr(engine, "CHUNK_ROWS", 20)  # some rows are on disk when it fails
    monkeypatch.setattr(engine._World, "on_clear", broken)
    with pytest.raises(RuntimeError, match="unit radio failed"):
        simulate(two_days(), tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert "events.csv" not in names and "incidents.csv" not in names
    assert not [n for n in names if n.endswith(".tmp")], names
    assert '"status": "failed"' in (tmp_path / "run" / "summary.json").read_text()


def test_a_failure_on_a_full_disk_still_cleans_up_and_says_failed(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The close's flush fails too (ENOSPC): both partial tables go and summary.json says why."""
    import errno

    from sim import output

    def broken(self: engine._World, *args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    real_init = output._TableStream.__init__

    def init(self: output._TableStream, *a: object, **k: object) -> None:
        real_init(self, *a, **k)  # type: ignore[arg-type]
        real_close = self.fh.close

        def close() -> None:
            real_close()
            raise OSError(errno.ENOSPC, "No space left on device")

        self.fh.close = close  # type: ignore[method-assign]

    monkeypatch.setattr(engine, "CHUNK_ROWS", 20)
    monkeypatch.setattr(engine._World, "on_clear", broken)
    monkeypatch.setattr(output._TableStream, "__init__", init)
    with pytest.raises(OSError, match="No space left"):
        simulate(two_days(), tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n in ("events.csv", "incidents.csv")], names
    summary = (tmp_path / "run" / "summary.json").read_text()
    assert '"status": "failed"' in summary and "No space left" in summary


def test_planned_incidents_happen_at_their_time() -> None:
    """The clock reaches each planned time (exactly where floats allow), and an incident's t_occur is
    the time of its occur record."""
    from sim.engine import _delay_to

    rng = np.random.default_rng(0)
    exact = 0
    for _ in range(20_000):
        now, t = float(rng.uniform(0, 1000)), float(rng.uniform(2000, 3e7))
        reached = now + _delay_to(now, t)
        assert abs(reached - t) <= np.spacing(t)
        exact += reached == t
    assert exact >= 19_990
    cfg = Config(seed=2)
    cfg.scenario.name = "none"
    cfg.run.horizon_s = 3 * 86400.0
    prep = prepare(cfg)
    log = engine.run(prep.city, prep.hazards, prep.calls, prep.policy, cfg.run.horizon_s, prep.streams)
    occur = {r.incident: r.t_s for r in log.events if r.kind == "occur"}
    assert occur and all(occur[i.id] == i.t_occur for i in log.incidents)
    assert np.allclose(sorted(occur.values()), sorted(c.t_s for c in prep.calls), rtol=0, atol=1e-8)


def test_event_cells_format_every_kind_of_value_as_fmt_does() -> None:
    """The event log's fast formatter gives fmt's text for floats, ints, numpy scalars, None, bools, inf, -0."""
    values = [0.0, -0.0, -1e-9, 1.5, 2.0000004, 1e300, float("inf"), float("-inf"), float("nan"), 3, -7, True,
              False, None, np.float64(0.1), np.float32(2.5), np.int64(12), np.int32(-3), "a,b", 'quote"d', ""]
    rows = [Record(t, k, s, i, v, n)  # type: ignore[arg-type]
            for t, k, s, i, v, n in zip(values, values[1:] + values[:1], values[2:] + values[:2],
                                        values[3:] + values[:3], values[4:] + values[:4], values[5:] + values[:5],
                                        strict=True)]
    fast = list(event_cells(rows))
    assert fast == [tuple(fmt(v) for v in r) for r in rows]
    assert fast[0][0] == "0" and fast[1][0] == "0" and fast[2][0] == "0"  # -0.0 and a rounded -1e-9 read "0"


def test_incidents_raised_during_the_run_stream_on_their_own_watermark(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood raises pumping and entrapment incidents (ids after every planned call): they are handed on
    as they become final, not held until the last planned call closes, and the table is the same."""
    def flood_day() -> Config:
        cfg = Config(seed=0)
        cfg.scenario.name = "waterlogging"
        cfg.scenario.waterlogging.dry_twin = False
        cfg.run.report = False
        return cfg

    whole = simulate(flood_day(), tmp_path / "whole")
    handed: list[tuple[int, int]] = []  # (rows, planned incidents still open then)
    late = RunSink.late_incidents
    open_planned: list[int] = []
    closed = engine._World.closed

    def watch(self: engine._World) -> None:
        closed(self)
        open_planned.append(self.n_planned - self._next_final + 1)

    def spy(self: RunSink, rows: list) -> None:  # type: ignore[type-arg]
        handed.append((len(rows), open_planned[-1] if open_planned else -1))
        late(self, rows)

    monkeypatch.setattr(engine, "CHUNK_ROWS", 40)
    monkeypatch.setattr(engine._World, "closed", watch)
    monkeypatch.setattr(RunSink, "late_incidents", spy)
    simulate(flood_day(), tmp_path / "streamed")
    for name in ("events.csv", "incidents.csv"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "streamed" / name).read_bytes(), name
    assert whole["n_incidents"] > whole["n_background_calls"] + 20  # the flood raised incidents
    assert len(handed) >= 3 and all(n == 4 for n, _ in handed)
    assert any(still_open > 0 for _, still_open in handed)  # handed on while planned calls were still open
    assert not list((tmp_path / "streamed").glob("*.tmp"))


@pytest.mark.parametrize("where", ["in_a_stream", "after_the_sink"])
def test_a_stop_while_the_tables_are_being_opened_leaves_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              where: str) -> None:
    """A SIGTERM may land after a table's file exists but before the sink holds it (or before the run
    holds the sink): the partial files go all the same."""
    from sim import output, runner

    class Stop(BaseException):
        pass

    if where == "in_a_stream":  # the second table's file is on disk, its stream never made
        real_init = output._TableStream.__init__
        made: list[int] = []

        def init(self: output._TableStream, *a: object, **k: object) -> None:
            real_init(self, *a, **k)  # type: ignore[arg-type]
            made.append(1)
            if len(made) == 2:
                raise Stop

        monkeypatch.setattr(output._TableStream, "__init__", init)
    else:  # the sink complete, the run never got it
        real_sink = runner.RunSink

        def sink(*a: object, **k: object) -> RunSink:
            real_sink(*a, **k)  # type: ignore[arg-type]
            raise Stop

        monkeypatch.setattr(runner, "RunSink", sink)
    with pytest.raises(Stop):
        simulate(two_days(), tmp_path / "run")
    names = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert not [n for n in names if n.endswith(".tmp")], names
    assert '"status": "failed"' in (tmp_path / "run" / "summary.json").read_text()
