"""`o2c serve` and `o2c worker` start APScheduler with every job at its configured interval;
a failing job is logged and does not stop the others."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from engine import jobs
from engine.jobs import JOBS
from engine.runtime import Runtime
from web.scheduler import _run, build_scheduler


def test_every_job_is_scheduled_at_its_interval(runtime: Runtime) -> None:
    scheduler = build_scheduler(runtime)
    scheduled = {job.id: job.trigger.interval.total_seconds() / 60
                 for job in scheduler.get_jobs()}
    assert scheduled == {name: runtime.config[f"schedules.{name}"] for name in JOBS}


def test_a_failing_job_is_logged_not_raised(runtime: Runtime, monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    def broken(_rt: Runtime, _today: date) -> dict[str, int]:
        raise RuntimeError("disk full")

    monkeypatch.setitem(jobs.JOBS, "outbox", broken)
    with caplog.at_level(logging.ERROR):
        _run(runtime, "outbox")
    assert "job outbox failed" in caplog.text and "disk full" in caplog.text


def test_run_all_runs_every_stage_on_an_empty_database(runtime: Runtime) -> None:
    result = jobs.run_job(runtime, "all", date(2026, 9, 1))
    assert list(result) == list(JOBS)
    with pytest.raises(KeyError, match="unknown job 'nope'"):
        jobs.run_job(runtime, "nope", date(2026, 9, 1))
