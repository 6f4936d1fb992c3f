"""Taking and giving back orders: 接单 (claim), 协助 (assist), 退单 (release), 撤销 (cancel)."""

from __future__ import annotations

from bot.model import Incoming
from bot.router import BotError, Context, Router
from handlers.announce import announce
from handlers.common import (
    ACTIVE,
    admin_covers,
    expert_line,
    expert_name,
    need_expert,
    order_arg,
    post,
    title_of,
)
from storage.records import ATTACHMENT, Expert, OrderState

router = Router("claims")

TAKEN = "#{no} 已被{name}接单，可回复「协助 {no}」参与服务。"
UNAVAILABLE = "您目前{status}，暂不能{verb}。"
YOURS = "#{no} 已由您接单，无需重复认领。"
NOT_OPEN = "#{no} {state}，不能{verb}。"
FULL = "您手上已有 {load} 张未办结的点单（上限 {cap} 张），请先办结再{verb}，或请管理员 /指派。"
CLAIMED = ("接单成功 #{no}\n您的点单由 {expert} 接单，专家会尽快与您联系。\n"
           "（专家可私聊我发送「查询 {no}」查看完整联系方式）")
OTHERS_TOLD = "#{no} 已由{name}接单，感谢关注！如愿参与可回复「协助 {no}」。"
CONTACT = ("您已接单 #{no}\n需求：{summary}\n企业：{enterprise}\n联系人：{contact}\n"
           "电话：{phone}\n（完整号码仅在私聊中发送，请勿转发到群里）\n"
           "下一步：「预约 {no} 时间 现场/线上」→「进展 {no} …」→「办结 {no} 已解决 …」")
ATTACHMENT_SENT = "#{no} 的附件：{name}（平台不能直接转发时，管理员可在后台查看）"
CONTACT_IN_GROUP = ("您已接单 #{no}。我无法私聊您，完整联系方式请私聊我发送「查询 {no}」查看。\n"
                    "下一步：「预约 {no} 时间 现场/线上」→「进展 {no} …」→「办结 {no} 已解决 …」")
NOT_CLAIMED_YET = "#{no} 还没有人接单，可回复「接单 {no}」认领。"
ALREADY_LEAD = "您是 #{no} 的接单专家，无需协助。"
ALREADY_ASSIST = "您已在协助 #{no}。"
ASSISTED = "协助成功 #{no}：{expert} 将协助 {lead} 一起服务。"
RELEASED = "#{no} 已由{name}退单{reason}，重新开放认领。"
LEFT = "您已退出协助 #{no}。"
NOT_ON_ORDER = "只有接单专家可以退单 #{no}"
CANCEL_WHO = "只有点单人或管理员可以撤销 #{no}"
CANCELLED = "#{no} 已撤销{reason}。"
LEAD_TOLD = "#{no} 已被撤销{reason}，无需再服务，感谢您！"


@router.message("claim")
@router.reply("claim")
async def claim(msg: Incoming, ctx: Context) -> None:
    """接单 N：认领点单 #N（先到先得；也可引用派单消息回复「接单」）"""
    expert = need_expert(ctx, "接单")
    order = order_arg(ctx, "接单")
    if order.state is not OrderState.OPEN:
        if order.lead == expert.id:
            raise BotError(YOURS.format(no=order.no))
        if order.lead:
            raise BotError(TAKEN.format(no=order.no, name=expert_name(ctx, order.lead)))
        raise BotError(NOT_OPEN.format(no=order.no, state=order.state.word, verb="接单"))
    _can_take_more(ctx, expert, "接单")
    if not ctx.store.claim(order.no, expert.id, msg.account):
        fresh = ctx.store.get_order(order.no)  # another process claimed it a moment ago
        raise BotError(TAKEN.format(no=order.no,
                                    name=expert_name(ctx, fresh.lead if fresh else None)))
    post(ctx, order, CLAIMED.format(no=order.no, expert=expert_line(expert)), at_requester=True)
    others = tuple(
        uid for eid in order.announced if eid != expert.id
        for e in [ctx.store.get_expert(eid)] if e
        for uid in [e.account_on(order.platform)] if uid
    )
    if others and not order.private:
        post(ctx, order, OTHERS_TOLD.format(no=order.no, name=expert.name), mentions=others)
    uid = expert.account_on(msg.platform)
    if uid:
        ctx.tell(uid, CONTACT.format(
            no=order.no, summary=order.summary or order.text[:60],
            enterprise=order.enterprise or "未填写", contact=order.contact or order.requester_name,
            phone=order.phone or "未留（可在群里@对方联系）",
        ), about=order, group_text=CONTACT_IN_GROUP.format(no=order.no))
        for kept in ctx.store.attachments(order.no):  # the pictures and files that came with it
            name = kept.attachment.name or kept.attachment.word
            ctx.tell(uid, ATTACHMENT_SENT.format(no=order.no, name=name), about=order,
                     extra={ATTACHMENT: str(kept.id)})


def _can_take_more(ctx: Context, expert: Expert, verb: str) -> None:
    """BotError unless the expert is available today and below their capacity."""
    if not expert.available(ctx.now().date()):
        raise BotError(UNAVAILABLE.format(status=expert.status_word, verb=verb))
    load = ctx.store.open_load(expert.id)
    if load >= expert.capacity:
        raise BotError(FULL.format(load=load, cap=expert.capacity,
                                   verb="接新单" if verb == "接单" else "协助其他点单"))


@router.message("assist")
async def assist(msg: Incoming, ctx: Context) -> None:
    """协助 N：加入别人已接的点单 #N，一起服务（计入服务人次）"""
    expert = need_expert(ctx, "协助")
    order = order_arg(ctx, "协助")
    if order.state is OrderState.OPEN:
        raise BotError(NOT_CLAIMED_YET.format(no=order.no))
    if order.state not in ACTIVE:
        raise BotError(NOT_OPEN.format(no=order.no, state=order.state.word, verb="协助"))
    team = dict(ctx.store.team_of(order.no))
    if order.lead == expert.id:
        raise BotError(ALREADY_LEAD.format(no=order.no))
    if expert.id in team:
        raise BotError(ALREADY_ASSIST.format(no=order.no))
    _can_take_more(ctx, expert, "协助")
    ctx.store.assist(order.no, expert.id, msg.account)
    lead = ctx.store.get_expert(order.lead or "")
    uid = lead.account_on(order.platform) if lead else None
    post(ctx, order, ASSISTED.format(no=order.no, expert=expert_line(expert),
                                     lead=lead.name if lead else "接单专家"),
         mentions=(uid,) if uid else ())


@router.message("release")
async def release(msg: Incoming, ctx: Context) -> None:
    """退单 N 原因：把已接的点单 #N 退回，重新开放认领（协助专家则退出协助）"""
    expert = need_expert(ctx, "退单")
    order = order_arg(ctx, "退单")
    reason = (ctx.parsed.note or "").strip()
    team = dict(ctx.store.team_of(order.no))
    if order.state not in ACTIVE or expert.id not in team:
        if order.state not in ACTIVE and expert.id in team:
            raise BotError(NOT_OPEN.format(no=order.no, state=order.state.word, verb="退单"))
        raise BotError(NOT_ON_ORDER.format(no=order.no))
    if order.lead != expert.id:
        ctx.store.leave(order.no, expert.id, msg.account, reason)
        ctx.reply(LEFT.format(no=order.no))
        return
    if not ctx.store.release(order.no, expert.id, msg.account, reason):
        raise BotError(NOT_OPEN.format(no=order.no, state=order.state.word, verb="退单"))
    ctx.matcher().avoided([expert.id], order.summary or order.text[:120])
    post(ctx, order, RELEASED.format(no=order.no, name=expert.name,
                                     reason=f"（{reason}）" if reason else ""), at_requester=True)
    fresh = ctx.store.get_order(order.no)
    if fresh:
        announce(ctx, fresh, exclude=frozenset({expert.id}), again=True)


@router.message("cancel")
async def cancel(msg: Incoming, ctx: Context) -> None:
    """撤销 N：点单人撤回自己的点单 #N"""
    order = order_arg(ctx, "撤销")
    if msg.account != order.requester and not admin_covers(ctx, order):
        raise BotError(CANCEL_WHO.format(no=order.no))
    reason = (ctx.parsed.note or "").strip()
    states = (OrderState.OPEN, *ACTIVE)
    if not ctx.store.transition(order.no, states, OrderState.CANCELLED, msg.account,
                                "order.cancelled",
                                {"ended_at": ctx.store.stamp(), "end_reason": reason},
                                reason=reason):
        raise BotError(NOT_OPEN.format(no=order.no, state=order.state.word, verb="撤销"))
    why = f"（{reason}）" if reason else ""
    post(ctx, order, CANCELLED.format(no=order.no, reason=why))
    lead = ctx.store.get_expert(order.lead) if order.lead else None
    uid = lead.account_on(order.platform) if lead else None
    if uid:
        ctx.tell(uid, LEAD_TOLD.format(no=order.no, reason=why) + f"\n{title_of(order, False)}",
                 platform=order.platform, about=order)
