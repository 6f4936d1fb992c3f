"""The dashboard's guard: sign-in, sessions, scopes, CSRF, security headers, page rendering."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jinja2
from aiohttp import web
from multidict import MultiDict

from bot.config import DASHBOARD_PATH
from bot.core import Core

log = logging.getLogger(__name__)

PREFIX = DASHBOARD_PATH
COOKIE = "diandan_admin"
PRE_COOKIE = "diandan_signin"  # the sign-in form's CSRF value (double submit)
CSRF_FIELD = "_csrf"
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(hours=24)
SEEN_EVERY = timedelta(minutes=5)  # how often a session's last use is written down
FAIL_WINDOW = timedelta(minutes=15)
FAIL_LIMIT = 10
TOKEN_ACCOUNT = "dashboard:token"
PUBLIC_ROUTES = frozenset({"login", "login_post"})

SIGNED_OUT = "请先登录管理后台。"
WRONG_TOKEN = "令牌不正确，请重试。"
TOKEN_DISABLED = "未配置后台令牌，令牌登录已停用。请私聊机器人发送 /后台 获取一次性登录链接。"
BAD_LINK = "登录链接无效、已过期或已使用过。请私聊机器人发送 /后台 重新获取。"
TOO_MANY = "尝试次数过多，请稍后再试。"
BAD_FORM = "页面已过期，请刷新后重试。"
NOT_ADMIN = "您已不是管理员，无法使用管理后台。"

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class AdminSession:
    """One signed-in browser: who, its CSRF token, and when it lapses."""

    account: str
    csrf: str
    started: datetime
    seen: datetime
    saved: datetime | None = None  # the last use written down (see SEEN_EVERY)
    # The admin's scope, read afresh on every request ("" = everything); until then, one
    # that covers nothing.
    scope: str = "none:"


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


@dataclass
class Auth:
    """Server-side sessions with random ids, and the failure throttle. Sessions are kept in
    the database by a hash of their id, so a restart signs no one out; memory holds the ones
    in use."""

    app: Core
    sessions: dict[str, AdminSession] = field(default_factory=dict)
    proxies: tuple[IPNetwork, ...] = ()  # [dashboard] trusted_proxies

    def __post_init__(self) -> None:
        self.proxies = self.app.config.dashboard.proxy_networks()

    def now(self) -> datetime:
        return self.app.clock.now()

    def token_ok(self, given: str) -> bool:
        """The configured token, compared in constant time; an empty one accepts nothing."""
        expected = self.app.config.dashboard.token
        if not expected or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))

    @staticmethod
    def _live(s: AdminSession, now: datetime) -> bool:
        return now - s.seen <= SESSION_IDLE and now - s.started <= SESSION_MAX

    async def start(self, account: str, scope: str) -> str:
        now = self.now()
        sid = secrets.token_urlsafe(32)
        session = AdminSession(account, secrets.token_urlsafe(32), now, now, saved=now,
                               scope=scope)
        store = self.app.store
        async with self.app.lock, store.turn():
            store.drop_stale_admin_sessions(now - SESSION_IDLE, now - SESSION_MAX)
            store.save_admin_session(_hash(sid), account, session.csrf, now, now)
        self.sessions = {k: v for k, v in self.sessions.items() if self._live(v, now)}
        self.sessions[sid] = session
        return sid

    async def session(self, sid: str | None) -> AdminSession | None:
        if not sid:
            return None
        now = self.now()
        # The database decides (a session ended by another replica of the bot is over
        # here too); memory keeps when this process last saved its use.
        row = self.app.store.admin_session(_hash(sid))
        if row is None:
            self.sessions.pop(sid, None)
            return None
        s = self.sessions.get(sid)
        if s is None:  # not used since this process started
            s = AdminSession(*row, saved=row[3])
            self.sessions[sid] = s
        else:  # used through another replica meanwhile: not idle
            s.seen = max(s.seen, row[3])
        if not self._live(s, now):
            await self.end(sid)
            return None
        s.seen = now
        if s.saved is None or now - s.saved >= SEEN_EVERY:
            async with self.app.lock, self.app.store.turn():
                self.app.store.save_admin_session(_hash(sid), s.account, s.csrf, s.started, now)
            s.saved = now
        return s

    async def end(self, sid: str | None, signed_out: bool = False) -> None:
        """Forget a session: lapsed, or `signed_out` by its user (audited)."""
        if sid:
            s = self.sessions.pop(sid, None)
            async with self.app.lock:
                with self.app.store.tx():
                    self.app.store.drop_admin_session(_hash(sid))
                    if signed_out and s is not None:
                        self.app.store.record(s.account, "dashboard.signed_out")

    def scope_of(self, account: str) -> str | None:
        """The admin scope of a signed-in account, as it is now: "" for the token and super
        admins, "group:<id>" or "region:<name>" for admins added in chat, None for an
        account that is no admin any more."""
        if account == TOKEN_ACCOUNT or account in self.app.config.bot.admins:
            return ""
        return self.app.store.admin_scope(account)

    def throttled(self, who: str) -> bool:
        """Whether `who` was refused too often of late (counted in the database, so every
        replica of the bot sees the same count)."""
        return self.app.store.sign_ins_refused(who, self.now() - FAIL_WINDOW) >= FAIL_LIMIT

    async def failed(self, who: str) -> None:
        log.warning("dashboard: refused a sign-in from %s", who)
        async with self.app.lock, self.app.store.turn():
            self.app.store.sign_in_refused(who, self.now() - FAIL_WINDOW)


AUTH = web.AppKey("auth", Auth)
ENV = web.AppKey("env", jinja2.Environment)


def _client(request: web.Request) -> str:
    return client_address(request.remote, request.headers.get("X-Forwarded-For"),
                          request.app[AUTH].proxies)


def client_address(peer: str | None, forwarded: str | None,
                   proxies: tuple[IPNetwork, ...]) -> str:
    """Who sent a request: the peer; or, when the peer is a trusted proxy, the nearest
    address in X-Forwarded-For that is not one (each proxy appends the address it saw, so
    whatever a client wrote there itself comes before)."""
    if not peer:
        return "?"
    if not forwarded or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer


def _trusted(address: str, proxies: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def _secure(request: web.Request) -> bool:
    """HTTPS, directly or behind a proxy that the configured public URL names."""
    public = request.app[AUTH].app.config.dashboard.public_url
    return request.secure or public.startswith("https://")


def _set_session_cookie(request: web.Request, resp: web.StreamResponse, sid: str) -> None:
    resp.set_cookie(COOKIE, sid, path=PREFIX, httponly=True, samesite="Strict",
                    secure=_secure(request), max_age=int(SESSION_MAX.total_seconds()))


def _without(request: web.Request, *keys: str) -> str:
    query = MultiDict((k, v) for k, v in request.query.items() if k not in keys)
    return str(request.rel_url.with_query(query))


def _safe_next(value: str | None) -> str:
    """Only a path inside the dashboard: never another site."""
    if value and value.startswith(PREFIX) and not value.startswith("//") and "\\" not in value:
        return value
    return PREFIX + "/"


def current(request: web.Request) -> AdminSession | None:
    """The session the guard checked for this request (None on the sign-in pages)."""
    return request.app[AUTH].sessions.get(request.cookies.get(COOKIE, ""))


def redirect(target: str) -> web.Response:
    """A 303 to `target` (a response to add cookies to, not an exception)."""
    return web.Response(status=303, headers={"Location": target})


def render(request: web.Request, name: str, status: int = 200,
           **values: Any) -> web.Response:
    """A page from its template, with the session's account and CSRF token."""
    session = current(request)
    html = request.app[ENV].get_template(name).render(
        admin=session, csrf=session.csrf if session else "", prefix=PREFIX,
        path=request.path, **values)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def sign_in_page(request: web.Request, status: int, message: str) -> web.Response:
    """The sign-in form (with its own CSRF value); never any order data."""
    auth = request.app[AUTH]
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    nxt = _safe_next(request.query.get("next") or (
        _without(request, "token", "login") if request.method == "GET" else None))
    resp = render(request, "login.html", status=status, message=message, pre=pre, next=nxt,
                  token_enabled=bool(auth.app.config.dashboard.token))
    resp.set_cookie(PRE_COOKIE, pre, path=PREFIX, httponly=True, samesite="Strict",
                    secure=_secure(request))
    return resp


async def _start(request: web.Request, account: str, via: str) -> str:
    """Start a session for `account`; a token sign-in is audited here, a link's by the store."""
    auth = request.app[AUTH]
    if via == "token":
        async with auth.app.lock, auth.app.store.turn():
            auth.app.store.record(account, "dashboard.signed_in", None, via=via)
    log.info("dashboard: %s signed in by %s from %s", account, via, _client(request))
    scope = auth.scope_of(account)
    return await auth.start(account, "none:" if scope is None else scope)


async def _sign_in_from_query(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`?token=` or `?login=`: sign in and answer the page at once, setting the cookie."""
    auth = request.app[AUTH]
    who = _client(request)
    if auth.throttled(who):
        return sign_in_page(request, 429, TOO_MANY)
    if "login" in request.query:
        async with auth.app.lock, auth.app.store.turn():
            account = auth.app.store.use_login_token(request.query["login"])
        if account is None:
            await auth.failed(who)
            return sign_in_page(request, 403, BAD_LINK)
        if auth.scope_of(account) is None:  # removed as an admin since the link was sent
            return sign_in_page(request, 403, NOT_ADMIN)
        sid = await _start(request, account, "link")
    elif auth.token_ok(request.query["token"]):
        sid = await _start(request, TOKEN_ACCOUNT, "token")
    else:
        await auth.failed(who)
        msg = WRONG_TOKEN if auth.app.config.dashboard.token else TOKEN_DISABLED
        return sign_in_page(request, 403, msg)
    headers = request.headers.copy()
    headers["Cookie"] = f"{COOKIE}={sid}"
    try:
        resp = await handler(request.clone(headers=headers))
    except web.HTTPException as exc:
        _set_session_cookie(request, exc, sid)
        raise
    _set_session_cookie(request, resp, sid)
    return resp


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every page needs a valid session; POSTs need the session's CSRF token."""
    auth = request.app[AUTH]
    route = request.match_info.route.name or ""
    session = await auth.session(request.cookies.get(COOKIE))
    if (session is None and request.method == "GET"
            and ("token" in request.query or "login" in request.query)):
        return await _sign_in_from_query(request, handler)
    if route in PUBLIC_ROUTES or route.startswith("static"):
        return await handler(request)
    if session is None:
        return sign_in_page(request, 401, SIGNED_OUT)
    scope = auth.scope_of(session.account)
    if scope is None:  # removed as an admin since signing in
        await auth.end(request.cookies.get(COOKIE))
        return sign_in_page(request, 403, NOT_ADMIN)
    session.scope = scope
    if request.method == "POST":
        form = await request.post()
        given = form.get(CSRF_FIELD)
        if not isinstance(given, str) or not hmac.compare_digest(given, session.csrf):
            return render(request, "message.html", status=403, title="请求被拒绝",
                          message=BAD_FORM)
    return await handler(request)


async def security_headers(request: web.Request, resp: web.StreamResponse) -> None:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith(PREFIX + "/static/"):
        resp.headers.setdefault("Cache-Control", "no-store")


async def login_form(request: web.Request) -> web.StreamResponse:
    session = await request.app[AUTH].session(request.cookies.get(COOKIE))
    if session is not None:
        raise web.HTTPSeeOther(_safe_next(request.query.get("next")))
    return sign_in_page(request, 200, "")


async def login_post(request: web.Request) -> web.StreamResponse:
    auth = request.app[AUTH]
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE, "")
    given = form.get(CSRF_FIELD)
    if not pre or not isinstance(given, str) or not hmac.compare_digest(given, pre):
        return sign_in_page(request, 403, BAD_FORM)
    who = _client(request)
    if auth.throttled(who):
        return sign_in_page(request, 429, TOO_MANY)
    token = form.get("token")
    if not auth.app.config.dashboard.token:
        return sign_in_page(request, 403, TOKEN_DISABLED)
    if not isinstance(token, str) or not auth.token_ok(token.strip()):
        await auth.failed(who)
        return sign_in_page(request, 403, WRONG_TOKEN)
    sid = await _start(request, TOKEN_ACCOUNT, "token")
    nxt = form.get("next")
    resp = redirect(_safe_next(nxt if isinstance(nxt, str) else None))
    _set_session_cookie(request, resp, sid)
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    await request.app[AUTH].end(request.cookies.get(COOKIE), signed_out=True)
    resp = redirect(PREFIX + "/login")
    resp.del_cookie(COOKIE, path=PREFIX)
    return resp
