"""The Jinja2 environment of the dashboard and the booklet: templates, filters, escaping."""

from __future__ import annotations

from datetime import date, datetime
from importlib import resources
from pathlib import Path

import jinja2

from bot.model import SHANGHAI

TEMPLATES = Path(str(resources.files("bot.web") / "templates"))  # the pages and the booklet


def when(value: datetime | None) -> str:
    """A time as admins read it: 2026-05-06 10:00 (Asia/Shanghai)."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


def day(value: datetime | date | None) -> str:
    """A date: 2026-05-06."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return value.isoformat()


def num(value: float | int | None) -> str:
    """A figure without a needless .0."""
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def make_env() -> jinja2.Environment:
    """Templates from bot/web/templates, HTML-escaped by default, strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"], default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, day=day, num=num)
    return env
