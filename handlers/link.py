"""Experts linking their own chat account: 绑定 手机号 in a 1:1 chat, confirmed by an admin."""

from __future__ import annotations

from bot.model import ChatKind, Incoming
from bot.router import BotError, Context, Router
from bot.text.parse import mask_phones
from handlers.common import admin_accounts, mention_of

router = Router("link")

IN_GROUP = "为保护手机号，请私聊我发送「绑定 手机号」。"
USAGE = "请发送「绑定 您在专家库登记的手机号」，例如「绑定 13905720118」。"
UNKNOWN = "专家库里没有手机号 {phone}，请联系管理员登记。"
ALREADY = "您的账号已绑定为专家 {name}（{id}）。"
REQUESTED = "已提交绑定申请：{name}（编号 {id}）。管理员确认后即可接单。"
ASK_ADMIN = ("账号 {account}（{nick}）申请绑定为专家 {name}（{id}）。"
             "确认请回复「/专家 确认 {account}」。")


@router.keyword("绑定")
async def link(msg: Incoming, ctx: Context) -> None:
    """绑定 手机号：专家私聊绑定自己的聊天账号（管理员确认后生效）"""
    if msg.chat_kind is ChatKind.GROUP:
        raise BotError(IN_GROUP)
    digits = "".join(c for c in ctx.args if c.isdigit())
    if len(digits) < 7:
        raise BotError(USAGE)
    mine = ctx.expert()
    if mine is not None:
        raise BotError(ALREADY.format(name=mine.name, id=mine.id))
    expert = ctx.store.expert_by_phone(digits)
    if expert is None:
        raise BotError(UNKNOWN.format(phone=mask_phones(digits)))
    ctx.store.request_link(msg.account, expert.id, msg.sender_name)
    ctx.reply(REQUESTED.format(name=expert.name, id=expert.id))
    for account in admin_accounts(ctx):
        uid = mention_of(account, msg.platform)
        if uid:
            ctx.tell(uid, ASK_ADMIN.format(account=msg.account, nick=msg.sender_name,
                                           name=expert.name, id=expert.id))
