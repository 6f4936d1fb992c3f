"""点单 intake: open an order from a message, announce it, and ask for what is missing."""

from __future__ import annotations

from bot.model import ChatKind, Incoming
from bot.router import Context, Router
from handlers.announce import announce
from storage.records import NewOrder

router = Router("orders")

ASK_DETAIL = ("#{no} 的描述还比较简单，方便补充一下具体情况吗"
              "（设备或工艺、出现的现象、希望得到的帮助）？请回复「补充 {no} ……」。")


@router.message("new_order")
async def new_order(msg: Incoming, ctx: Context) -> None:
    """点单：描述难题或需求（可写企业、联系人、电话、期限），机器人编号并推荐专家"""
    p = ctx.parsed
    private = msg.chat_kind is ChatKind.SINGLE
    order = ctx.store.create_order(
        NewOrder(
            platform=msg.platform, chat_id=msg.chat_id, chat_kind=msg.chat_kind.value,
            requester=msg.account, requester_name=msg.sender_name, text=msg.text,
            summary=p.summary,
            enterprise=p.enterprise or _group(msg, ctx, "enterprise"),
            contact=p.contact or msg.sender_name, phone=p.phone, deadline=p.deadline,
            urgent=p.urgent, category=p.category, service_type=p.service_type,
            region=p.region or _group(msg, ctx, "region"), private=private,
        ),
        actor=msg.account,
    )
    announce(ctx, order)
    if p.category is None and len(p.summary or "") < 12:
        ctx.reply(ASK_DETAIL.format(no=order.no))


def _group(msg: Incoming, ctx: Context, key: str) -> str | None:
    """A group's default (set with /设置), never for a 1:1 chat."""
    if msg.chat_kind is ChatKind.SINGLE:
        return None
    return ctx.store.setting(msg.platform, msg.chat_id, key)
