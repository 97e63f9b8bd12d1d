"""APScheduler 3: every job of engine.jobs at the interval the configuration gives."""

from __future__ import annotations

import logging
from datetime import date

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from engine.jobs import JOBS, run_job
from engine.runtime import Runtime

log = logging.getLogger("o2c.scheduler")


def _run(rt: Runtime, name: str) -> None:
    try:
        result = run_job(rt, name, date.today())
        if any(result.values()):
            log.info("%s: %s", name, result)
    except Exception:  # a failing job must not stop the scheduler; it is logged and retried
        log.exception("job %s failed", name)


def build_scheduler(rt: Runtime, blocking: bool = False) -> BaseScheduler:
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler()
    for name in JOBS:
        minutes = rt.config[f"schedules.{name}"]
        scheduler.add_job(_run, "interval", minutes=minutes, args=(rt, name), id=name,
                          max_instances=1, coalesce=True)
    return scheduler
