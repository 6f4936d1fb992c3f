"""Scheduled sweeps: reminders and the monthly tally. Idempotent: every send is logged first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta

from bot.charts import image_extra, tally_chart_png
from bot.model import Button, ChatKind, Outgoing
from bot.periods import Period, month
from bot.router import Context
from bot.workdays import add_workdays
from handlers.announce import announce
from handlers.common import admin_accounts, mention_of, post, rating_buttons, title_of
from handlers.report import tally_text
from storage.base import ts
from storage.records import Order, OrderState
from storage.store import Store
from storage.tallies import Scope, tally

UNCLAIMED = "#{no} 已超过 {hours} 小时无人认领，重新推荐专家："
ESCALATE = ("#{no} 已超过 {hours} 小时无人认领，请用「/指派 {no} 专家编号」派单。\n需求：{title}")
ESCALATE_GROUP = "#{no} 已超过 {hours} 小时无人认领，已提醒管理员协调派单。"
STALE = ("#{no} 已接单 {days} 个工作日，还没有预约或进展。请回复「预约 {no} 时间 现场/线上」"
         "或「进展 {no} …」；如无法服务，可「退单 {no} 原因」。")
VISIT_EXPERT = "明天有服务：#{no} {when} {mode}\n需求：{title}"
VISIT_REQUESTER = "提醒：专家 {expert} 明天 {when} {mode} 为 #{no} 提供服务。"
DEADLINE = "#{no} 的期限 {deadline}（{rel}）快到了，目前{state}，请抓紧。"
RATE = "#{no} 已办结 {days} 天，欢迎评价：回复「评价 {no} 满意 / 基本满意 / 不满意」。"
OPEN = (OrderState.OPEN,)
ACTIVE = (OrderState.CLAIMED, OrderState.SCHEDULED)


@dataclass(frozen=True)
class Reminder:
    """One thing due: a sent-log key, the order, a line for --dry-run, and how to send it."""

    key: str
    order_no: int | None
    line: str
    send: Callable[[Context], None]
    chat: tuple[str, str] | None = None  # the group it posts to, for its own quiet hours
    # Heavy read-only work (a tally and its chart, an order's embedding) that the bot does
    # off the event loop over a connection of its own before `send`; `send` does what is
    # still missing itself (sweep() in one go, for the CLI and /提醒).
    prepare: Callable[[Store], None] | None = None
    # The order's last change when the reminder was found: a reminder sent in a later batch
    # is dropped if the order changed in between (the next sweep looks again).
    seen: datetime | None = None


def _clock(text: str) -> time:
    hour, _, minute = text.partition(":")
    return time(int(hour), int(minute or 0))


def quiet(ctx: Context, now: datetime) -> bool:
    """Inside quiet hours (default 21:00–08:00) nothing is sent."""
    return _in_window(now, _clock(ctx.config.reminders.quiet_start),
                      _clock(ctx.config.reminders.quiet_end))


def due(ctx: Context) -> list[Reminder]:
    """Everything that is due now and was never sent (nothing while quiet)."""
    now = ctx.now()
    if quiet(ctx, now):
        return []
    found = [*_order_reminders(ctx, now), *_monthly(ctx, now)]
    return [r for r in found if not ctx.store.reminder_sent(r.key)
            and not (r.chat and _group_quiet(ctx, r.chat, now))]


def _group_quiet(ctx: Context, chat: tuple[str, str], now: datetime) -> bool:
    """A group's own quiet hours (/设置 免打扰 22:00-07:30), on top of the global ones."""
    value = ctx.store.setting(chat[0], chat[1], "quiet")
    if not value:
        return False
    start, _, end = value.partition("-")
    return _in_window(now, _clock(start), _clock(end))


def _in_window(now: datetime, start: time, end: time) -> bool:
    t = now.timetz().replace(tzinfo=None)
    return (start <= t or t < end) if start > end else (start <= t < end)


def sweep(ctx: Context, dry_run: bool = False) -> list[Reminder]:
    """Send what is due, each once: the sent-log row and the queued message commit together.
    First, sign-in links that were used or have expired leave the stored messages (even in
    quiet hours). The bot itself sends in batches that yield the loop (App.run_jobs)."""
    if not dry_run:
        ctx.store.scrub_login_links()
    found = due(ctx)
    if dry_run:
        return found
    return [r for r in found if send_one(ctx, r)]  # a report is made as it is first sent


def send_one(ctx: Context, r: Reminder) -> bool:
    """Send one reminder (prepared) unless it was sent already or its order changed since it
    was found; the sent-log row and the queued messages commit together."""
    with ctx.store.tx():
        if r.seen is not None and r.order_no is not None:
            o = ctx.store.get_order(r.order_no)
            if o is None or o.updated_at != r.seen:
                return False
        if not ctx.store.mark_reminder(r.key, r.order_no):
            return False
        r.send(ctx)
        return True


def _order_reminders(ctx: Context, now: datetime) -> list[Reminder]:
    cfg = ctx.config.reminders
    out: list[Reminder] = []
    today = now.date()
    orders = ctx.store.reminder_candidates(now, timedelta(days=cfg.rating_days + 30))
    for o in orders:
        age = now - o.created_at
        if o.state is OrderState.OPEN:
            if age >= timedelta(hours=cfg.escalate_hours):
                out.append(_escalate(o, cfg.escalate_hours))
            elif age >= timedelta(hours=cfg.unclaimed_hours):
                out.append(Reminder(f"reannounce:{o.no}", o.no, f"#{o.no} 无人认领，重新推荐",
                                    _reannounce(o, cfg.unclaimed_hours),
                                    prepare=_warm(ctx, o)))
        if o.state in ACTIVE:
            last = max(x for x in (o.claimed_at, o.active_at, o.created_at) if x)
            future_visit = o.visit_at is not None and o.visit_at > now
            if not future_visit and now >= add_workdays(last, cfg.stale_workdays):
                out.append(Reminder(f"stale:{o.no}:{last.isoformat()}", o.no,
                                    f"#{o.no} 接单后无进展，提醒专家",
                                    _stale(o, cfg.stale_workdays)))
            if (o.state is OrderState.SCHEDULED and o.visit_at
                    and o.visit_at.date() == today + timedelta(days=1)
                    and now.timetz().replace(tzinfo=None) >= _clock(cfg.evening)):
                out.append(Reminder(f"visit:{o.no}:{o.visit_at.date()}", o.no,
                                    f"#{o.no} 明天服务，提醒专家和点单人", _visit(o)))
        if o.state in (*OPEN, *ACTIVE) and o.deadline and o.deadline <= today + timedelta(days=1):
            out.append(Reminder(f"deadline:{o.no}", o.no, f"#{o.no} 期限将到",
                                _deadline(o)))
        if (o.state is OrderState.COMPLETED and o.completed_at
                and now - o.completed_at >= timedelta(days=cfg.rating_days)):
            out.append(Reminder(f"rate:{o.no}", o.no, f"#{o.no} 办结未评价，请点单人评价",
                                _rate(o, cfg.rating_days)))
    by_no = {o.no: o for o in orders}
    found = []
    for r in out:
        of = by_no[r.order_no] if r.order_no is not None else None
        found.append(r if of is None else replace(
            r, seen=of.updated_at, chat=None if of.private else (of.platform, of.chat_id)))
    return found


def _warm(ctx: Context, o: Order) -> Callable[[Store], None] | None:
    """The embedding the order's ranking will need, done ahead (off the loop in the bot)."""
    routing = ctx.routing
    if routing is None:
        return None
    return lambda _store: routing.warm(o.text)


def _reannounce(o: Order, hours: float) -> Callable[[Context], None]:
    def send(ctx: Context) -> None:
        if not o.private:
            post(ctx, o, UNCLAIMED.format(no=o.no, hours=f"{hours:g}"))
        announce(ctx, o, exclude=frozenset(o.announced), again=True)
    return send


def _escalate(o: Order, hours: float) -> Reminder:
    def send(ctx: Context) -> None:
        told = False
        for account in admin_accounts(ctx, o):
            uid = mention_of(account, o.platform)
            if uid:
                ctx.tell(uid, ESCALATE.format(no=o.no, hours=f"{hours:g}",
                                              title=title_of(o, False)), platform=o.platform,
                         about=o)
                told = True
        if not told and not o.private:
            post(ctx, o, ESCALATE_GROUP.format(no=o.no, hours=f"{hours:g}"))
    return Reminder(f"escalate:{o.no}", o.no, f"#{o.no} 长时间无人认领，提醒管理员", send)


def look_up(o: Order) -> Button:
    """A button that shows the order's state and contact (查询 N)."""
    return Button("查询", f"查询 {o.no}")


def _lead_uid(ctx: Context, o: Order) -> str | None:
    e = ctx.store.get_expert(o.lead) if o.lead else None
    return e.account_on(o.platform) if e else None


def _stale(o: Order, days: int) -> Callable[[Context], None]:
    def send(ctx: Context) -> None:
        uid = _lead_uid(ctx, o)
        if uid:
            ctx.tell(uid, STALE.format(no=o.no, days=days), platform=o.platform, about=o,
                     buttons=(look_up(o),))
    return send


def _visit(o: Order) -> Callable[[Context], None]:
    def send(ctx: Context) -> None:
        assert o.visit_at is not None
        when, mode = f"{o.visit_at:%H:%M}", o.visit_mode or ""
        uid = _lead_uid(ctx, o)
        if uid:
            ctx.tell(uid, VISIT_EXPERT.format(no=o.no, when=when, mode=mode,
                                              title=title_of(o, False)), platform=o.platform,
                     about=o, buttons=(look_up(o),))
        lead = ctx.store.get_expert(o.lead) if o.lead else None
        post(ctx, o, VISIT_REQUESTER.format(no=o.no, when=when, mode=mode,
                                            expert=lead.name if lead else ""), at_requester=True)
    return send


def _deadline(o: Order) -> Callable[[Context], None]:
    def send(ctx: Context) -> None:
        assert o.deadline is not None
        rel = {0: "今天", 1: "明天"}.get((o.deadline - ctx.now().date()).days, "已过期")
        text = DEADLINE.format(no=o.no, deadline=o.deadline, rel=rel, state=o.state.word)
        uid = _lead_uid(ctx, o)
        if uid:
            ctx.tell(uid, text, platform=o.platform, about=o)
        if not o.private:
            post(ctx, o, text)
    return send


def _rate(o: Order, days: int) -> Callable[[Context], None]:
    def send(ctx: Context) -> None:
        post(ctx, o, RATE.format(no=o.no, days=days), at_requester=True,
             buttons=rating_buttons(o))
    return send


class _Report:
    """One scope's tally of a month in words and as a chart, computed once for every group
    of that scope (a province's thousands of groups share a few dozen scopes)."""

    def __init__(self, period: Period, scope: Scope) -> None:
        self.period, self.scope = period, scope
        self.made: tuple[str, bytes] | None = None

    def prepare(self, store: Store) -> None:
        if self.made is not None:
            return
        t = tally(store.db, self.period.start, self.period.end, self.scope)
        prev = self.period.previous()
        before = tally(store.db, prev.start, prev.end, self.scope)
        label = self.scope.label() if self.scope.kind != "all" else ""
        self.made = (tally_text(t, self.period, label, before, chart=True),
                     tally_chart_png(t, before))

    def send(self, c: Context, platform: str, chat_id: str) -> None:
        self.prepare(c.store)
        assert self.made is not None
        text, png = self.made
        c.send(Outgoing(platform, chat_id, text,
                        extra=image_extra(png, f"tally-{self.period.start:%Y-%m}.png"),
                        buttons=(Button("待接单", "待接单"),)))


def _monthly(ctx: Context, now: datetime) -> list[Reminder]:
    """Last month's tally for every group the bot serves, once, from the report day on."""
    cfg = ctx.config.report
    due_at = datetime.combine(now.date().replace(day=max(1, min(cfg.day, 28))), _clock(cfg.time),
                              tzinfo=now.tzinfo)
    if now < due_at:
        return []
    first = now.date().replace(day=1) - timedelta(days=1)
    period = month(first.year, first.month)
    regions = {(p, c): v for p, c, v in ctx.store.chats_with("region")}
    reports: dict[Scope, _Report] = {}
    out = []
    for chat in ctx.store.chats():
        if chat["kind"] != ChatKind.GROUP.value or chat["first_at"] >= ts(due_at):
            continue  # only groups the bot served before the report fell due
        where = (chat["platform"], chat["chat_id"])
        key = f"monthly:{first:%Y-%m}:{where[0]}:{where[1]}"
        region = regions.get(where)
        scope = Scope("region", region) if region else Scope()
        report = reports.setdefault(scope, _Report(period, scope))

        def send(c: Context, where: tuple[str, str] = where, report: _Report = report) -> None:
            report.send(c, *where)

        line = f"{period.label} 统计 → {where[0]}:{where[1]}"
        out.append(Reminder(key, None, line, send, where, prepare=report.prepare))
    return out
