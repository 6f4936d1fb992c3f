"""Look-ups: 帮助, 查询 N, 待接单, 我的单; and the catch-all that answers what is not understood."""

from __future__ import annotations

import re

from bot.model import ChatKind, Incoming
from bot.router import BotError, Context, Router
from bot.text import faq
from handlers.common import (
    admin_covers,
    expert_name,
    may_know,
    order_arg,
    serves,
    title_for,
)
from storage.records import OUTCOME_WORDS, OrderState

router = Router("lookup")
questions = Router("faq")
fallback = Router("fallback")

HELP_HEAD = "匠心点单 使用说明（在群里请先 @我）："
HELP_ADMIN = "管理员指令："
HELP_ADMIN_SENT = "管理员指令一览已私聊发给您。"
NONE_OPEN = "目前没有待接单的点单。"
NONE_MINE = "您目前没有进行中的点单。"
EMPTY = "消息是空的。发送「帮助」查看用法。"
UNSURE = "需要我帮您派单吗？回复「是」即按这条消息点单，或以「点单：」开头重新描述。"
THANKS = re.compile(r"^(?:谢谢|感谢|多谢|辛苦|麻烦您?了|thanks?|thx)", re.I)
GREETING = re.compile(r"^(?:你好|您好|大家好|各位好|早上好|下午好|晚上好|早|在吗|在不在|hi|hello)",
                      re.I)
YOU_ARE_WELCOME = "不客气！有需要随时 @我 点单。"
HELLO = "您好！我是匠心点单。发送「点单：问题描述」即可请劳模工匠专家，发送「帮助」查看全部用法。"
NOT_UNDERSTOOD = "没太明白您的意思。要点单请以「点单：」开头描述问题；发送「帮助」查看全部用法。"
UNKNOWN_COMMAND = "未知指令 {cmd}。发送「/帮助」查看管理员指令。"
ADMIN_ONLY = "只有管理员可以使用 {cmd}"
_AT = re.compile(r"^\s*(?:@\S+\s+)+")
OPEN_STATES = (OrderState.OPEN, OrderState.CLAIMED, OrderState.SCHEDULED)


def _common_question(msg: Incoming, ctx: Context) -> bool:
    return faq.answer(msg.text, ctx.config.bot.faq_file) is not None


@questions.message("help", "other", listed=False, when=_common_question)
async def common_question(msg: Incoming, ctx: Context) -> None:
    """A common question (收费吗, 怎么撤销…): its answer from the FAQ file."""
    ctx.reply(faq.answer(msg.text, ctx.config.bot.faq_file) or HELLO)


@router.message("help")
async def show_help(msg: Incoming, ctx: Context) -> None:
    """帮助：查看全部用法"""
    lines, admin_lines = [HELP_HEAD], [HELP_ADMIN]
    seen: set[str] = set()
    for r in ctx.routers:
        for route in r.routes:
            line = route.help
            if not line or line in seen:
                continue
            seen.add(line)
            (admin_lines if route.kind == "command" else lines).append(f"· {line}")
    if ctx.is_admin() and len(admin_lines) > 1:
        if msg.chat_kind is ChatKind.GROUP:  # what admins may do is no business of the group
            ctx.tell(msg.sender_id, "\n".join(admin_lines))
            lines.append(HELP_ADMIN_SENT)
        else:
            lines.extend(admin_lines)
    ctx.reply("\n".join(lines))


@router.message("query")
async def query(msg: Incoming, ctx: Context) -> None:
    """查询 N：查看点单 #N 的状态"""
    order = order_arg(ctx, "查询")
    in_group = msg.chat_kind is ChatKind.GROUP
    parts = [f"#{order.no} {order.state.word}"]
    team = ctx.store.team_of(order.no)
    if order.lead:
        parts.append(f"接单专家：{expert_name(ctx, order.lead)}")
    assists = [expert_name(ctx, e) for e, role in team if role == "assist"]
    if assists:
        parts.append(f"协助专家：{'、'.join(assists)}")
    if order.enterprise and not (order.private and (in_group or not may_know(ctx, order))):
        parts.append(f"企业：{order.enterprise}")
    parts.append(f"需求：{title_for(ctx, order)}")
    if order.visit_at and order.state is OrderState.SCHEDULED:
        parts.append(f"预约：{order.visit_at:%m月%d日 %H:%M} {order.visit_mode or ''}".rstrip())
    if order.outcome:
        parts.append(f"结果：{OUTCOME_WORDS.get(order.outcome, order.outcome)}")
    if order.rating:
        stars = f"（{order.rating_stars}星）" if order.rating_stars else ""
        parts.append(f"评价：{order.rating}{stars}")
    if order.end_reason:
        parts.append(f"原因：{order.end_reason}")
    kept = ctx.store.attachments(order.no)
    if kept and not (order.private and (in_group or not may_know(ctx, order))):
        names = "、".join(a.attachment.name or a.attachment.word for a in kept[:5])
        more = f" 等 {len(kept)} 个" if len(kept) > 5 else ""
        parts.append(f"附件：{names}{more}（接单专家会收到，管理员可在后台查看）")
    insider = msg.account == order.requester or admin_covers(ctx, order) or serves(ctx, order)
    if not in_group and insider:  # the full contact, only 1:1 and only to those who serve it
        who = order.contact or order.requester_name
        parts.append(f"联系人：{who} {order.phone or ''}".rstrip())
    ctx.reply("\n".join(parts))


@router.message("open_orders")
async def open_orders(msg: Incoming, ctx: Context) -> None:
    """待接单：列出还没有专家认领的点单"""
    orders = ctx.store.orders([OrderState.OPEN], limit=20)
    if not orders:
        raise BotError(NONE_OPEN)
    lines = ["待接单："] + [f"#{o.no} {title_for(ctx, o)[:40]}" for o in orders]
    ctx.reply("\n".join(lines))


@router.message("my_orders")
async def my_orders(msg: Incoming, ctx: Context) -> None:
    """我的单：我提交的或我接的进行中点单"""
    expert = ctx.expert()
    mine = ctx.store.orders(OPEN_STATES, requester=msg.account, limit=20)
    if expert:
        mine += ctx.store.orders(OPEN_STATES, lead=expert.id, limit=20)
    if not mine:
        raise BotError(NONE_MINE)
    unique = {o.no: o for o in mine}
    lines = ["您的点单："] + [
        f"#{o.no} {o.state.word} {title_for(ctx, o)[:40]}"
        for o in sorted(unique.values(), key=lambda o: -o.no)
    ]
    ctx.reply("\n".join(lines))


@fallback.message(listed=False)
async def not_understood(msg: Incoming, ctx: Context) -> None:
    """Catch-all: every message addressed to the bot gets an answer."""
    text = msg.text.strip()
    if not text:
        ctx.reply(EMPTY)
    elif ctx.parsed.intent == "admin":
        cmd = text.split()[0]
        ctx.reply(UNKNOWN_COMMAND.format(cmd=cmd) if ctx.is_admin()
                  else ADMIN_ONLY.format(cmd=cmd))
    elif ctx.parsed.unsure:
        ctx.store.ask(msg.platform, msg.chat_id, msg.sender_id, "order?", text)
        ctx.reply(UNSURE)
    elif THANKS.match(_AT.sub("", text)):
        ctx.reply(YOU_ARE_WELCOME)
    elif GREETING.match(_AT.sub("", text)):
        ctx.reply(HELLO)
    else:
        ctx.reply(NOT_UNDERSTOOD)
