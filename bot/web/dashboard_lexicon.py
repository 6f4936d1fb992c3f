"""The dashboard's page for the routing knowledge: the specialties admins added, and a form to
add one (with how people describe its problems); effective at the next recommendation."""

from __future__ import annotations

from aiohttp import web

from bot.core import Core
from bot.lexicon_admin import LexiconError, check_addition
from bot.text.match_taxonomy import default_taxonomy
from bot.web.dashboard_auth import current, redirect, render

ONLY_UNSCOPED = "专长词库对全部点单生效，只有不限范围的管理员可以添加。"


def _lines(value: object) -> list[str]:
    return [x for x in str(value or "").replace("；", "\n").splitlines() if x.strip()]


class LexiconPage:
    """GET lists the added specialties; POST adds one (admins without a scope only)."""

    def __init__(self, app: Core) -> None:
        self.app = app

    async def show(self, request: web.Request, error: str = "", status: int = 200,
                   form: dict[str, str] | None = None) -> web.Response:
        return render(request, "lexicon.html", status=status, title="专长词库", nav="lexicon",
                      entries=self.app.store.lexicon_entries(), error=error, form=form or {},
                      shipped=len(default_taxonomy()))

    async def add(self, request: web.Request) -> web.Response:
        session = current(request)
        if session is None or session.scope:
            return render(request, "message.html", status=403, title="无法添加",
                          message=ONLY_UNSCOPED)
        form = await request.post()
        raw = {k: str(form.get(k, ""))[:4000] for k in ("name", "family", "terms", "symptoms")}
        try:
            name, terms, symptoms = check_addition(raw["name"], _lines(raw["terms"]),
                                                   _lines(raw["symptoms"]))
        except LexiconError as exc:
            return await self.show(request, str(exc), 400, raw)
        async with self.app.lock, self.app.store.turn():
            self.app.store.add_lexicon(name, terms, symptoms, session.account,
                                       family=raw["family"].strip()[:20])
        return redirect(str(request.app.router["lexicon"].url_for()))
