"""Experts linking their own chat account: 绑定 手机号 in a 1:1 chat, confirmed by an admin."""

from __future__ import annotations

from datetime import timedelta

from bot.model import ChatKind, Incoming
from bot.router import BotError, Context, Router
from handlers.admin_roster import in_region
from handlers.common import mention_of
from storage.base import parse_ts
from storage.records import Expert
from storage.roster_store import phone_key

router = Router("link")

IN_GROUP = "为保护手机号，请私聊我发送「绑定 手机号」。"
USAGE = "请发送「绑定 您在专家库登记的完整手机号」，例如「绑定 13905720118」。"
ALREADY = "您的账号已绑定为专家 {name}（{id}）。"
# The same answer whether or not the number is on the roster: it must not tell who is.
RECEIVED = "已收到绑定申请。如果该号码在专家库中，管理员确认后即可接单。"
ASK_ADMIN = ("账号 {account}（平台显示名：{nick}）申请绑定为专家 {name}（{id}）。"
             "请核实是其本人后回复「/专家 确认 {account} {id}」。")
HAS_ACCOUNT = "\n注意：该专家已绑定账号 {accounts}，确认后这些账号都可以以该专家身份接单。"
SHARED = ("账号 {account}（平台显示名：{nick}）申请绑定为专家，但该号码登记在多位专家名下："
          "{names}。请核实后用「/专家 绑定 编号 {account}」绑定。")
# Admins hear of one account's request once; the same request again within this time is quiet.
QUIET = timedelta(hours=1)
MIN_DIGITS = 10  # fewer cannot be a whole mobile or landline number with its area code


@router.keyword("绑定")
async def link(msg: Incoming, ctx: Context) -> None:
    """绑定 手机号：专家私聊绑定自己的聊天账号（管理员确认后生效）"""
    if msg.chat_kind is ChatKind.GROUP:
        raise BotError(IN_GROUP)
    if len(phone_key(ctx.args)) < MIN_DIGITS:
        raise BotError(USAGE)
    mine = ctx.expert()
    if mine is not None:
        raise BotError(ALREADY.format(name=mine.name, id=mine.id))
    found = ctx.store.experts_by_phone(ctx.args)
    ctx.reply(RECEIVED)
    if not found:
        return
    expert_id = found[0].id if len(found) == 1 else ""  # "": the number is on several experts
    last = ctx.store.link_request(msg.account)
    if last is not None and last["expert_id"] == expert_id:
        at = parse_ts(last["at"])
        if at is not None and ctx.now() - at < QUIET:
            return  # the same request, already before the admins
    ctx.store.request_link(msg.account, expert_id, msg.sender_name)
    text = _ask(msg, found)
    for account in _confirmers(ctx, found):
        uid = mention_of(account, msg.platform)
        if uid:
            ctx.tell(uid, text)


def _ask(msg: Incoming, found: list[Expert]) -> str:
    """What the admins are asked: the account, the name its platform gave, and the expert."""
    if len(found) > 1:
        names = "、".join(f"{e.name}（{e.id}）" for e in found)
        return SHARED.format(account=msg.account, nick=msg.sender_name, names=names)
    e = found[0]
    text = ASK_ADMIN.format(account=msg.account, nick=msg.sender_name, name=e.name, id=e.id)
    here = [a for a in e.accounts if mention_of(a, msg.platform)]
    return text + (HAS_ACCOUNT.format(accounts="、".join(here)) if here else "")


def _confirmers(ctx: Context, found: list[Expert]) -> list[str]:
    """The admins who may link these experts: super admins, admins of everything, and
    region admins whose region holds one of them (group admins cannot change the roster)."""
    accounts = list(ctx.config.bot.admins)
    for row in ctx.store.admins():
        scope = str(row["scope"] or "")
        if not scope or (scope.startswith("region:") and scope[7:]
                         and any(in_region(scope[7:], e.region) for e in found)):
            accounts.append(str(row["account"]))
    return list(dict.fromkeys(accounts))
