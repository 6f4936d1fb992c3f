"""Who may reach the HTTP server: Host checks (DNS rebinding) and the local API's token."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Middleware

from bot.config import Config, is_loopback
from bot.web.responses import json_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
LOCAL_API = "/api/local/"
WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def host_name(host: str) -> str:
    """The name in a Host header, without port or brackets, lower case ("" if malformed)."""
    host = host.strip().lower()
    if host.startswith("["):
        name, sep, rest = host[1:].partition("]")
        return name if sep and (not rest or (rest[1:].isdigit() and rest[0] == ":")) else ""
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        host = name
    return host.rstrip(".")


def allowed_hosts(config: Config) -> frozenset[str]:
    """The names the server answers to besides loopback ones: its own host (unless a
    wildcard), the dashboard's public URL and `[server] allowed_hosts`."""
    names = {h.strip().strip("[]").lower() for h in config.server.allowed_hosts}
    if config.server.host not in WILDCARDS:
        names.add(config.server.host.strip("[]").lower())
    public = urlsplit(config.dashboard.public_url).hostname if config.dashboard.public_url else None
    if public:
        names.add(public.lower())
    return frozenset(n for n in names if n)


def host_guard(config: Config, exempt: Collection[str]) -> Middleware:
    """421 for a Host header the server does not answer to (a DNS-rebinding page in a
    browser names its own domain), except on `exempt` paths: the platform callbacks, which
    authenticate each request by its signature."""
    names = allowed_hosts(config)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path not in exempt:
            name = host_name(request.headers.get("Host", ""))
            if not name or not (name in names or is_loopback(name)):
                log.warning("refused a request for host %r on %s", name[:60], request.path[:60])
                return json_response({"error": "unknown host"}, status=421)
        return await handler(request)

    return guard


def local_token_guard(token: str) -> Middleware:
    """With `[local] token` set, every local API request must carry it as a Bearer token."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(LOCAL_API):
            given = request.headers.get("Authorization", "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, expected):
                log.warning("refused a local API request without a valid token")
                return json_response({"error": "a valid Authorization: Bearer token is required"},
                                     status=401, headers={"WWW-Authenticate": "Bearer"})
        return await handler(request)

    return guard
