"""The one aiohttp application: /healthz, each platform's routes, the local web chat."""

from __future__ import annotations

import json
import logging
from importlib import resources
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.log import server_logger

from bot.core import Core
from bot.web.access import host_guard, local_token_guard
from bot.web.dashboard import dashboard_app
from bot.web.responses import json_response

STATIC = Path(str(resources.files("bot.web") / "static"))
DIRECTORY = Path(str(resources.files("bot") / "data" / "demo" / "directory.json"))


class MalformedRequests(logging.Filter):
    """aiohttp logs a request it cannot even parse (a header line past 8 KB, bytes that are
    no HTTP) with a traceback at ERROR: that is the client's fault, answered with a 4xx, so
    it becomes one WARNING line without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= (exc.code or 0) < 500:
            record.msg, record.args = "refused a malformed HTTP request: %s", (exc.message,)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


_MALFORMED = MalformedRequests()


def make_web_app(app: Core) -> web.Application:
    """Routes for the bot's server, whatever platforms are enabled."""
    if _MALFORMED not in server_logger.filters:
        server_logger.addFilter(_MALFORMED)
    callbacks = {route.path for name, platform in app.platforms.items() if name != "local"
                 for route in platform.routes() if isinstance(route, web.RouteDef)}
    middlewares = [host_guard(app.config, callbacks)]
    if app.config.local.token:
        middlewares.append(local_token_guard(app.config.local.token))
    web_app = web.Application(client_max_size=1024 * 1024, middlewares=middlewares)

    async def healthz(request: web.Request) -> web.Response:
        if not app.ready:
            return json_response({"ok": False}, status=503)
        return json_response({"ok": True, "pending": app.store.pending_count()})

    web_app.router.add_get("/healthz", healthz)
    for platform in app.platforms.values():
        web_app.add_routes(platform.routes())
    if "local" in app.platforms:
        web_app.add_routes(_chat_routes())
    if app.config.dashboard.enabled:
        web_app.add_subapp("/admin", dashboard_app(app))
    return web_app


def _chat_routes() -> list[web.AbstractRouteDef]:
    people = json.loads(DIRECTORY.read_text(encoding="utf-8")) if DIRECTORY.exists() else {}

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "chat.html")

    async def directory(request: web.Request) -> web.Response:
        return json_response(people)

    return [
        web.get("/", index),
        web.get("/api/local/directory", directory),
        web.static("/static", STATIC),
    ]
