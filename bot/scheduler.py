"""The table of scheduled jobs (name, trigger, function), wired into APScheduler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Config
from bot.model import SHANGHAI

log = logging.getLogger(__name__)


def jobs(config: Config) -> list[tuple[str, BaseTrigger]]:
    """Every job is the same idempotent sweep: the cron entry makes the monthly tally
    punctual, the interval catches everything else (and whatever fell due while down)."""
    hour, _, minute = config.report.time.partition(":")
    return [
        ("sweep", IntervalTrigger(minutes=config.reminders.sweep_minutes, timezone=SHANGHAI)),
        ("monthly", CronTrigger(day=max(1, min(config.report.day, 28)), hour=int(hour),
                                minute=int(minute or 0), timezone=SHANGHAI)),
    ]


def start_scheduler(config: Config, run: Callable[[], Awaitable[object]]) -> AsyncIOScheduler:
    """Start APScheduler on the running loop; coalesced, one instance per job at a time."""
    scheduler = AsyncIOScheduler(
        timezone=SHANGHAI,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 24 * 3600},
    )
    for name, trigger in jobs(config):
        scheduler.add_job(run, trigger, id=name, name=name)
    scheduler.start()
    return scheduler
