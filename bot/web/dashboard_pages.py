"""The dashboard's pages: orders, an order, experts, tallies, cases and exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.cases import cases
from bot.core import Core
from bot.exports import LedgerFormat, ledger_bytes, need_of, session_sums
from bot.exports_booklet import CasesFormat, cases_bytes
from bot.periods import FIRST_YEAR, Period, PeriodError, month, parse_period
from bot.web.dashboard_auth import AdminSession, current, redirect, render
from bot.web.dashboard_charts import bar_chart
from bot.web.dashboard_timeline import timeline
from storage.files import media_file
from storage.records import Order, OrderState
from storage.tallies import Scope, tally

PAGE_SIZE = 50
DONE = (OrderState.COMPLETED, OrderState.RATED)
FIGURES = [("requests", "收到需求", "件"), ("claimed", "已认领", "件"),
           ("completed", "已办结", "件"), ("solved", "解决难题", "件"),
           ("cancelled", "撤销", "件"), ("sessions", "服务场次", "场"),
           ("experts", "参与专家", "人"), ("person_times", "服务人次", "人次"),
           ("hours", "服务时长", "小时"), ("suggestions", "合理化建议", "条"),
           ("beneficiaries", "受益职工", "人次")]
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
NOT_FOUND = "没有找到 {what}。"
# Pictures shown in the page; anything else is downloaded, never rendered by the browser.
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp"}
CASE_ONLY_DONE = "#{no} {state}，办结后才能评为优秀案例。"
CASE_PRIVATE = "#{no} 是职工个人需求，为保护个人隐私，不能评为优秀案例。"


@dataclass(frozen=True)
class OrderRow:
    """One line of the orders table."""

    no: int
    enterprise: str
    need: str
    category: str
    experts: str
    state: str
    state_word: str
    created: datetime
    excellent: bool


def _attachment(data: bytes, fmt: str, name: str, ascii_name: str) -> web.Response:
    disposition = (f'attachment; filename="{ascii_name}"; '
                   f"filename*=UTF-8''{quote(name)}")
    return web.Response(body=data, headers={"Content-Type": MIME[fmt],
                                            "Content-Disposition": disposition})


class Pages:
    """Request handlers; the guard middleware has checked the session before any of them."""

    def __init__(self, app: Core) -> None:
        self.app = app
        self.store = app.store

    # -- helpers ----------------------------------------------------------------------------

    def _names(self) -> dict[str, str]:
        return {e.id: e.name for e in self.store.experts()}

    def _team(self, no: int, names: dict[str, str]) -> str:
        return "、".join(names.get(eid, eid) for eid, _ in self.store.team_of(no))

    def _row(self, o: Order, names: dict[str, str]) -> OrderRow:
        need = need_of(o)
        return OrderRow(o.no, o.enterprise or "", need if len(need) <= 48 else need[:47] + "…",
                        o.category or "", self._team(o.no, names), o.state.value, o.state.word,
                        o.created_at, o.excellent)

    def _categories(self) -> list[str]:
        rows = self.store.db.execute(
            "SELECT DISTINCT category FROM orders WHERE category IS NOT NULL AND category != '' "
            "ORDER BY category").fetchall()
        return [str(r[0]) for r in rows]

    def _period(self, text: str) -> tuple[Period | None, str]:
        if not text.strip():
            return None, ""
        try:
            return parse_period(text, self.app.clock.now(),
                                self.app.config.report.campaigns), ""
        except PeriodError as exc:
            return None, str(exc)

    @staticmethod
    def _session(request: web.Request) -> AdminSession:
        session = current(request)
        assert session is not None, "the guard lets no request through without a session"
        return session

    def _scope(self, request: web.Request) -> str:
        """The signed-in admin's scope: every page shows only what it covers."""
        return self._session(request).scope

    def _own(self, request: web.Request) -> Order | None:
        """The order the path names, if it exists and the admin's scope covers it."""
        order = self.store.get_order(int(request.match_info["no"]))
        return order if order is not None and order.in_scope(self._scope(request)) else None

    # -- orders -----------------------------------------------------------------------------

    async def orders(self, request: web.Request) -> web.Response:
        q = request.query
        f = {k: q.get(k, "").strip()[:100] for k in ("state", "category", "region", "q", "month")}
        page = int(q["page"]) if q.get("page", "").isdigit() and 0 < int(q["page"]) < 10**6 else 1
        period, error = self._period(f["month"])
        states = [f["state"]] if f["state"] in {s.value for s in OrderState} else []
        found, total = self.store.search_orders(
            states=states, category=f["category"] or None, region=f["region"] or None,
            text=f["q"] or None, since=period.start if period else None,
            until=period.end if period else None, limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE, scope=self._scope(request))
        names = self._names()
        pages = max(1, -(-total // PAGE_SIZE))
        keep = {k: v for k, v in f.items() if v}

        def page_link(n: int) -> str:
            return "?" + urlencode({**keep, "page": str(n)})

        return render(request, "orders.html", title="点单", nav="orders", filters=f,
                      rows=[self._row(o, names) for o in found], total=total, page=page,
                      pages=pages, page_link=page_link, error=error, period=period,
                      states=list(OrderState), categories=self._categories())

    @staticmethod
    def _not_found(request: web.Request, what: str) -> web.Response:
        return render(request, "message.html", status=404, title="未找到",
                      message=NOT_FOUND.format(what=what))

    async def order(self, request: web.Request) -> web.Response:
        order = self._own(request)
        if order is None:
            return self._not_found(request, f"#{request.match_info['no']}")
        names = self._names()

        def name(eid: str) -> str:
            return names.get(eid, eid)

        def by_account(account: str) -> str:
            e = self.store.expert_by_account(account)
            return e.name if e else account

        team = [(self.store.get_expert(eid), eid, role) for eid, role in
                self.store.team_of(order.no)]
        sessions = self.store.sessions(order.no)
        events = timeline(self.store.events(order_no=order.no), order, name, by_account)
        return render(request, "order.html", title=order.label, nav="orders", o=order,
                      team=team, sessions=sessions, sums=session_sums(sessions),
                      attachments=self.store.attachments(order.no),
                      events=events, names=names,
                      can_mark=order.state in DONE and not order.private)

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        """An attachment's kept copy, for an order inside the admin's scope."""
        order = self._own(request)
        kept = self.store.attachment(int(request.match_info["id"])) if order else None
        if order is None or kept is None or kept.order_no != order.no:
            return self._not_found(request, "这个附件")
        path = media_file(self.app.config.storage.path, kept.attachment.path)
        if path is None:
            return self._not_found(request, "这个附件的副本")
        image = MEDIA_TYPES.get(path.suffix.lower())
        name = kept.attachment.name or path.name
        headers = {"Content-Type": image or "application/octet-stream",
                   "Content-Disposition": ("inline" if image else "attachment")
                   + f"; filename*=UTF-8''{quote(name)}", "X-Content-Type-Options": "nosniff"}
        return web.Response(body=path.read_bytes(), headers=headers)

    async def mark_excellent(self, request: web.Request) -> web.Response:
        order = self._own(request)
        if order is None:
            return self._not_found(request, f"#{request.match_info['no']}")
        form = await request.post()
        mark = form.get("excellent") == "1"
        if mark and order.private:
            return render(request, "message.html", status=400, title="无法评选",
                          message=CASE_PRIVATE.format(no=order.no))
        if mark and order.state not in DONE:
            return render(request, "message.html", status=400, title="无法评选",
                          message=CASE_ONLY_DONE.format(no=order.no, state=order.state.word))
        async with self.app.lock, self.store.turn():
            self.store.update_order(order.no, self._session(request).account, "order.case",
                                    {"excellent": int(mark)}, excellent=mark)
        return redirect(str(request.app.router["order"].url_for(no=str(order.no))))

    # -- experts ----------------------------------------------------------------------------

    async def experts(self, request: web.Request) -> web.Response:
        rows = []
        scope = self._scope(request)
        for e in self.store.experts():
            _, served = self.store.search_orders(expert=e.id, limit=0, scope=scope)
            rows.append({"e": e, "load": self.store.open_load(e.id), "served": served})
        return render(request, "experts.html", title="专家", nav="experts", rows=rows)

    async def expert(self, request: web.Request) -> web.Response:
        e = self.store.get_expert(request.match_info["eid"])
        if e is None:
            return self._not_found(request, "这位专家")
        found, total = self.store.search_orders(expert=e.id, limit=500,
                                                scope=self._scope(request))
        names = self._names()
        history = []
        for o in found:
            role = dict(self.store.team_of(o.no)).get(e.id, "")
            mine = [s for s in self.store.sessions(o.no) if e.id in s.experts]
            history.append({"row": self._row(o, names), "role": role,
                            "sessions": len(mine),
                            "hours": sum(s.hours or 0.0 for s in mine)})
        return render(request, "expert.html", title=e.name, nav="experts", e=e,
                      load=self.store.open_load(e.id), history=history, total=total)

    # -- tallies ----------------------------------------------------------------------------

    async def tallies(self, request: web.Request) -> web.Response:
        now = self.app.clock.now()
        period, error = self._period(request.query.get("month", "")[:40])
        period = period or month(now.year, now.month)
        scope = Scope.for_admin(self._scope(request))
        figures = tally(self.store.db, period.start, period.end, scope)
        anchor = min(period.end - timedelta(seconds=1), now)
        months = [month(y, m) for y, m in (_shift(anchor.year, anchor.month, -k)
                                           for k in range(11, -1, -1)) if y >= FIRST_YEAR]
        by_month = [(f"{p.start:%Y-%m}", tally(self.store.db, p.start, p.end, scope))
                    for p in months]
        series = ("收到需求", "已办结")
        charts = [
            bar_chart("近12个月", series,
                      [(label, (t["requests"], t["completed"])) for label, t in by_month]),
            bar_chart(f"按类别（{period.label}）", series,
                      [(k, (v["requests"], v["completed"]))
                       for k, v in figures["by_category"].items()]),
            bar_chart(f"按地区（{period.label}）", series,
                      [(k, (v["requests"], v["completed"]))
                       for k, v in figures["by_region"].items()]),
        ]
        return render(request, "tallies.html", title="统计", nav="tallies", period=period,
                      error=error, t=figures, figures=FIGURES, charts=charts,
                      month_value=f"{period.start:%Y-%m}")

    # -- cases and exports ------------------------------------------------------------------

    async def cases(self, request: web.Request) -> web.Response:
        return render(request, "cases_page.html", title="优秀案例", nav="cases",
                      cases=cases(self.store, self._scope(request)))

    async def exports(self, request: web.Request) -> web.Response:
        period, error = self._period(request.query.get("month", "")[:40])
        n_cases = len(cases(self.store, self._scope(request)))
        return render(request, "exports.html", title="导出", nav="exports", error=error,
                      month_value=f"{period.start:%Y-%m}" if period else "", period=period,
                      n_cases=n_cases)

    async def _audit(self, request: web.Request, what: str, **data: Any) -> None:
        async with self.app.lock, self.store.turn():
            self.store.record(self._session(request).account, "dashboard.exported", None,
                              what=what, **data)

    async def export_ledger(self, request: web.Request) -> web.Response:
        fmt = request.match_info["fmt"]
        period, error = self._period(request.query.get("month", "")[:40])
        if error:
            return render(request, "message.html", status=400, title="时间段有误",
                          message=error)
        scope = self._scope(request)
        kind: LedgerFormat = "xlsx" if fmt == "xlsx" else "csv"
        data, count = await self.app.reading(lambda store: ledger_bytes(store, kind, period, scope))
        await self._audit(request, "ledger", format=fmt, rows=count,
                          period=period.label if period else "全部")
        tag = f"{period.start:%Y-%m}" if period else "all"
        return _attachment(data, fmt, f"台账-{tag}.{fmt}", f"ledger-{tag}.{fmt}")

    async def export_cases(self, request: web.Request) -> web.Response:
        fmt = request.match_info["fmt"]
        scope = self._scope(request)
        kind: CasesFormat = "docx" if fmt == "docx" else "html"
        data, count = await self.app.reading(lambda store: cases_bytes(store, kind, scope=scope))
        await self._audit(request, "cases", format=fmt, cases=count)
        return _attachment(data, fmt, f"优秀案例汇编.{fmt}", f"cases.{fmt}")


def _shift(year: int, mon: int, by: int) -> tuple[int, int]:
    """The month `by` months from (year, mon)."""
    k = year * 12 + (mon - 1) + by
    return k // 12, k % 12 + 1
