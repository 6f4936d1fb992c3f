"""Admin commands on orders: /指派 /改派 /关闭 /撤销 /案例."""

from __future__ import annotations

import re

from bot.model import Incoming
from bot.router import BotError, Context, Router
from handlers.admin import need_admin, send_dashboard_link
from handlers.admin_roster import find_one
from handlers.common import NOT_FOUND, expert_line, post, scope_covers
from storage.records import Expert, Order, OrderState

router = Router("admin_orders")

ASSIGN_USAGE = "用法：{cmd} 单号 专家编号或姓名，例如「{cmd} 12 X01」"
CLOSE_USAGE = "用法：/关闭 单号 原因，例如「/关闭 12 企业已自行解决」"
CASE_USAGE = "用法：/案例 单号（标为优秀案例）· /案例 列表 · /案例 取消 单号 · /案例 导出"
OUT_OF_SCOPE = "#{no} 不在您管理的范围内"
ASSIGNED = "#{no} 已由管理员指派给 {expert}，请专家尽快联系点单人。"
REASSIGNED = "#{no} 已由管理员改派给 {expert}（原接单专家 {old}）。"
TOLD_OLD = "#{no} 已由管理员改派给 {expert}，您无需再跟进，感谢！"
NOT_ACTIVE = "#{no} {state}，不能{verb}。"
NEED_OPEN = "#{no} {state}，请用「/改派 {no} 专家」"
NEED_CLAIMED = "#{no} 还没有人接单，请用「/指派 {no} 专家」"
CLOSED = "#{no} 已由管理员关闭{reason}。"
CANCELLED = "#{no} 已由管理员撤销{reason}。"
CASE_MARKED = "已把 #{no} 标为优秀案例，可在后台导出《优秀案例汇编》。"
CASE_ONLY_DONE = "#{no} {state}，办结后才能评为优秀案例。"
CASE_PRIVATE = "#{no} 是职工个人需求，为保护个人隐私，不能评为优秀案例。"


def _order(ctx: Context, text: str, usage: str) -> tuple[Order, str]:
    m = re.match(r"^[#＃]?\s*(\d{1,9})\s*(.*)$", text.strip(), re.S)
    if not m:
        raise BotError(usage)
    order = ctx.store.get_order(int(m.group(1)))
    if order is None:
        raise BotError(NOT_FOUND.format(no=m.group(1)))
    if not scope_covers(ctx.admin_scope() or "", order):
        raise BotError(OUT_OF_SCOPE.format(no=order.no))
    return order, m.group(2).strip()


def _named(msg: Incoming, ctx: Context, who: str) -> Expert:
    """The expert an admin names: by roster id or name, or by @-mentioning them (the
    platform tells who was mentioned: `/指派 12 @沈国平`)."""
    if who.startswith(("@", "＠")):
        for user in msg.mentions:
            expert = ctx.store.expert_by_account(f"{msg.platform}:{user}")
            if expert is not None:
                return expert
        who = who.lstrip("@＠").split()[0] if who.lstrip("@＠") else who
    return find_one(ctx, who)


@router.command("指派", "assign")
async def assign(msg: Incoming, ctx: Context) -> None:
    """/指派 /assign N 专家：把待接单的 #N 直接派给专家（立即成为接单专家）"""
    need_admin(msg, ctx)
    order, who = _order(ctx, ctx.args, ASSIGN_USAGE.format(cmd="/指派"))
    if not who:
        raise BotError(ASSIGN_USAGE.format(cmd="/指派"))
    if order.state is not OrderState.OPEN:
        raise BotError(NEED_OPEN.format(no=order.no, state=order.state.word))
    expert = _named(msg, ctx, who)
    if not ctx.store.reassign(order.no, expert.id, msg.account):
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb="指派"))
    _label(ctx, order, expert.id, None)
    uid = expert.account_on(order.platform)
    post(ctx, order, ASSIGNED.format(no=order.no, expert=expert_line(expert)),
         at_requester=True, mentions=(uid,) if uid else ())


@router.command("改派", "reassign")
async def reassign(msg: Incoming, ctx: Context) -> None:
    """/改派 /reassign N 专家：把已接的 #N 改派给另一位专家"""
    need_admin(msg, ctx)
    order, who = _order(ctx, ctx.args, ASSIGN_USAGE.format(cmd="/改派"))
    if not who:
        raise BotError(ASSIGN_USAGE.format(cmd="/改派"))
    if order.state is OrderState.OPEN:
        raise BotError(NEED_CLAIMED.format(no=order.no))
    expert = _named(msg, ctx, who)
    old = ctx.store.get_expert(order.lead) if order.lead else None
    if old and old.id == expert.id:
        raise BotError(f"#{order.no} 已由 {expert.name} 接单")
    if not ctx.store.reassign(order.no, expert.id, msg.account):
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb="改派"))
    _label(ctx, order, expert.id, old.id if old else None)
    uid = expert.account_on(order.platform)
    post(ctx, order, REASSIGNED.format(no=order.no, expert=expert_line(expert),
                                       old=old.name if old else "无"),
         at_requester=True, mentions=(uid,) if uid else ())
    old_uid = old.account_on(order.platform) if old else None
    if old_uid:
        ctx.tell(old_uid, TOLD_OLD.format(no=order.no, expert=expert.name),
                 platform=order.platform, about=order)


def _label(ctx: Context, order: Order, chosen: str, previous: str | None) -> None:
    """An admin's choice teaches the matcher: orders like this one fit the chosen expert
    (and, after 改派, fit the one it was taken from less)."""
    routing = ctx.matcher()
    text = order.summary or order.text[:120]
    routing.learned([chosen], text, order.private, order.category or "")
    if previous:
        routing.avoided([previous], text)


@router.command("关闭", "close")
async def close(msg: Incoming, ctx: Context) -> None:
    """/关闭 /close N 原因：关闭一张不再需要服务的点单"""
    states = (OrderState.OPEN, OrderState.CLAIMED, OrderState.SCHEDULED, OrderState.COMPLETED)
    _end(msg, ctx, CLOSE_USAGE, states, OrderState.CLOSED, "order.closed", "关闭", CLOSED)


@router.command("撤销", "cancel")
async def cancel(msg: Incoming, ctx: Context) -> None:
    """/撤销 /cancel N 原因：管理员撤销一张点单"""
    states = (OrderState.OPEN, OrderState.CLAIMED, OrderState.SCHEDULED)
    _end(msg, ctx, "用法：/撤销 单号 原因", states, OrderState.CANCELLED, "order.cancelled",
         "撤销", CANCELLED)


def _end(msg: Incoming, ctx: Context, usage: str, states: tuple[OrderState, ...],
         to: OrderState, kind: str, verb: str, said: str) -> None:
    """End an order for good (closed or cancelled) with the admin's reason."""
    need_admin(msg, ctx)
    order, reason = _order(ctx, ctx.args, usage)
    if not ctx.store.transition(order.no, states, to, msg.account, kind,
                                {"ended_at": ctx.store.stamp(), "end_reason": reason},
                                reason=reason):
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb=verb))
    post(ctx, order, said.format(no=order.no, reason=f"（{reason}）" if reason else ""))


@router.command("案例", "case")
async def case(msg: Incoming, ctx: Context) -> None:
    """/案例 /case N|列表|取消 N|导出：评选优秀案例，导出案例汇编"""
    need_admin(msg, ctx)
    words = ctx.args.split()
    if words and words[0] in ("列表", "list"):
        cases, _ = ctx.store.search_orders(states=("completed", "rated"), excellent=True,
                                           public=True, scope=ctx.admin_scope() or "", limit=500)
        ctx.reply("\n".join(["优秀案例："] + [f"#{o.no} {o.enterprise or ''} {o.summary or ''}"
                                              for o in cases]) if cases else "还没有优秀案例。")
        return
    if words and words[0] in ("导出", "export"):
        send_dashboard_link(msg, ctx, "cases")
        return
    unmark = bool(words) and words[0] in ("取消", "unmark")
    order, _ = _order(ctx, " ".join(words[1:] if unmark else words), CASE_USAGE)
    if order.private and not unmark:
        raise BotError(CASE_PRIVATE.format(no=order.no))
    if order.state not in (OrderState.COMPLETED, OrderState.RATED):
        raise BotError(CASE_ONLY_DONE.format(no=order.no, state=order.state.word))
    ctx.store.update_order(order.no, msg.account, "order.case", {"excellent": int(not unmark)},
                           excellent=not unmark)
    ctx.reply(f"已取消 #{order.no} 的优秀案例标记。" if unmark
              else CASE_MARKED.format(no=order.no))
