"""The admin dashboard at /admin: its routes, behind the guard of dashboard_auth."""

from __future__ import annotations

from aiohttp import web

from bot.core import Core
from bot.templates import TEMPLATES, make_env
from bot.web.dashboard_auth import (
    AUTH,
    ENV,
    Auth,
    guard,
    login_form,
    login_post,
    logout,
    security_headers,
)
from bot.web.dashboard_lexicon import LexiconPage
from bot.web.dashboard_pages import Pages


def dashboard_app(app: Core) -> web.Application:
    """The dashboard as a sub-application, to be mounted at /admin."""
    sub = web.Application(middlewares=[guard])
    sub[AUTH] = Auth(app)
    sub[ENV] = make_env()
    sub.on_response_prepare.append(security_headers)
    pages = Pages(app)
    r = sub.router
    r.add_get("", pages.orders, name="root")
    r.add_get("/", pages.orders, name="index")
    r.add_get("/login", login_form, name="login")
    r.add_post("/login", login_post, name="login_post")
    r.add_post("/logout", logout, name="logout")
    r.add_get("/orders", pages.orders, name="orders")
    r.add_get(r"/orders/{no:\d{1,9}}", pages.order, name="order")
    r.add_post(r"/orders/{no:\d{1,9}}/excellent", pages.mark_excellent, name="excellent")
    r.add_get(r"/orders/{no:\d{1,9}}/files/{id:\d{1,18}}", pages.attachment, name="attachment")
    r.add_get("/experts", pages.experts, name="experts")
    r.add_get("/experts/{eid}", pages.expert, name="expert")
    r.add_get("/tallies", pages.tallies, name="tallies")
    r.add_get("/cases", pages.cases, name="cases_page")
    r.add_get("/exports", pages.exports, name="exports")
    lexicon = LexiconPage(app)
    r.add_get("/lexicon", lexicon.show, name="lexicon")
    r.add_post("/lexicon", lexicon.add, name="lexicon_add")
    r.add_get("/exports/ledger.{fmt:csv|xlsx}", pages.export_ledger, name="ledger")
    r.add_get("/exports/cases.{fmt:html|docx}", pages.export_cases, name="cases")
    r.add_static("/static", TEMPLATES.parent / "static", name="static")
    return sub
