"""点单 intake: open an order from a message, announce it, and ask for what is missing."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from bot.model import ChatKind, Incoming
from bot.router import BotError, Context, Router
from bot.text.parse import parse
from handlers.announce import announce
from handlers.common import order_place
from handlers.lookup import GREETING, THANKS
from handlers.media import attach_all
from storage.records import NewOrder

router = Router("orders")

ASK_PROBLEM = ("好的，请直接说说遇到的问题（设备或工艺、出现的现象、希望得到的帮助），"
               "最好写上企业、联系人和电话，我马上编号并推荐专家。")
NOTHING_PENDING = "好的。需要点单时，请以「点单：」开头描述问题；发送「帮助」查看全部用法。"
ASK_DETAIL = ("#{no} 的描述还比较简单，方便补充一下具体情况吗"
              "（设备或工艺、出现的现象、希望得到的帮助）？请回复「补充 {no} ……」。")


YES = re.compile(r"^(?:是|是的|对|对的|需要|要|好|好的|嗯|可以|麻烦了?|帮我派单|派单吧?)"
                 r"[!！。.~，,]*(?:谢谢|麻烦了|帮忙派单)?[!！。.~]*$")
ASK_WINDOW = timedelta(minutes=30)


def _said_yes(msg: Incoming, ctx: Context) -> bool:
    return bool(YES.match(msg.text.strip()))


@router.message("other", listed=False, when=_said_yes)
async def confirm_order(msg: Incoming, ctx: Context) -> None:
    """Yes to "需要我帮您派单吗？": the earlier message becomes an order."""
    text = ctx.store.answer(msg.platform, msg.chat_id, msg.sender_id, "order?", ASK_WINDOW)
    if text is None:
        raise BotError(NOTHING_PENDING)
    ctx.parsed = parse("点单：" + text, msg.sent_at or ctx.now())
    await new_order(replace(msg, text=text), ctx)


def _bare(msg: Incoming, ctx: Context) -> bool:
    return ctx.parsed.bare_order


@router.message("other", listed=False, when=_bare)
async def bare_order(msg: Incoming, ctx: Context) -> None:
    """点单 alone: ask what the problem is; the next message opens the order."""
    ctx.store.ask(msg.platform, msg.chat_id, msg.sender_id, "problem?", "")
    ctx.reply(ASK_PROBLEM)


def _problem_given(msg: Incoming, ctx: Context) -> bool:
    text = msg.text.strip()
    return (len(text) >= 4 and not THANKS.match(text) and not GREETING.match(text)
            and ctx.store.asked(msg.platform, msg.chat_id, msg.sender_id, "problem?",
                                ASK_WINDOW))


@router.message("other", listed=False, when=_problem_given)
async def problem_given(msg: Incoming, ctx: Context) -> None:
    """The problem, right after a bare 点单: it is the order."""
    ctx.store.answer(msg.platform, msg.chat_id, msg.sender_id, "problem?", ASK_WINDOW)
    ctx.parsed = parse("点单：" + msg.text, msg.sent_at or ctx.now())
    await new_order(msg, ctx)


@router.message("new_order")
async def new_order(msg: Incoming, ctx: Context) -> None:
    """点单：描述难题或需求（可写企业、联系人、电话、期限），机器人编号并推荐专家"""
    p = ctx.parsed
    private = msg.chat_kind is ChatKind.SINGLE
    enterprise, region = order_place(ctx)
    order = ctx.store.create_order(
        NewOrder(
            platform=msg.platform, chat_id=msg.chat_id, chat_kind=msg.chat_kind.value,
            requester=msg.account, requester_name=msg.sender_name, text=msg.text,
            summary=p.summary,
            enterprise=enterprise,
            contact=p.contact or msg.sender_name, phone=p.phone, deadline=p.deadline,
            urgent=p.urgent, category=p.category, service_type=p.service_type,
            region=region, private=private,
        ),
        actor=msg.account,
    )
    attach_all(msg, ctx, order.no)
    announce(ctx, order)
    if p.category is None and len(p.summary or "") < 12:
        ctx.reply(ASK_DETAIL.format(no=order.no))
