"""Small helpers shared by handlers: order look-up, roles, names, posting to an order's chat."""

from __future__ import annotations

from bot.model import Button, ChatKind, Outgoing
from bot.router import BotError, Context
from storage.records import Expert, Order, OrderState

NO_NUMBER = "请写明单号，例如「{verb} 12」。"
NOT_FOUND = "#{no} 不存在"
ONLY_LEAD = "只有接单专家可以{verb} #{no}"
ONLY_TEAM = "只有接单或协助的专家可以{verb} #{no}"
NOT_EXPERT = "您还不是登记的专家，暂时不能{verb}。请联系管理员把您的账号加入专家库。"
PRIVATE_LABEL = "职工个人需求（详情仅专家私聊可见）"
ACTIVE = (OrderState.CLAIMED, OrderState.SCHEDULED)


def order_arg(ctx: Context, verb: str) -> Order:
    """The order a lifecycle message names (by number, or by quoting the bot's post)."""
    no = ctx.parsed.order_no if ctx.parsed.order_no is not None else ctx.quoted_order
    if no is None:
        raise BotError(NO_NUMBER.format(verb=verb))
    order = ctx.store.get_order(no)
    if order is None:
        raise BotError(NOT_FOUND.format(no=no))
    return order


def need_expert(ctx: Context, verb: str) -> Expert:
    expert = ctx.expert()
    if expert is None:
        raise BotError(NOT_EXPERT.format(verb=verb))
    return expert


def need_lead(ctx: Context, order: Order, verb: str) -> Expert:
    """The sender, who must be the order's lead expert."""
    expert = ctx.expert()
    if expert is None or order.lead != expert.id:
        raise BotError(ONLY_LEAD.format(verb=verb, no=order.no))
    return expert


def need_team(ctx: Context, order: Order, verb: str) -> Expert:
    """The sender, who must serve the order (lead or assist)."""
    expert = ctx.expert()
    if expert is None or expert.id not in {e for e, _ in ctx.store.team_of(order.no)}:
        raise BotError(ONLY_TEAM.format(verb=verb, no=order.no))
    return expert


def expert_line(e: Expert) -> str:
    """沈国平（全国劳动模范 · 电仪组）"""
    extra = " · ".join(x for x in (e.title, e.team) if x)
    return f"{e.name}（{extra}）" if extra else e.name


def expert_name(ctx: Context, expert_id: str | None) -> str:
    e = ctx.store.get_expert(expert_id) if expert_id else None
    return e.name if e else (expert_id or "")


def mention_of(account: str, platform: str) -> str | None:
    """The user id to @-mention for `platform:user` on `platform`, if it is that platform."""
    plat, _, user = account.partition(":")
    return user if plat == platform and user else None


def title_of(order: Order, in_group: bool) -> str:
    """What a post may say about the order: a private need is never described in a group."""
    if order.private and in_group:
        return PRIVATE_LABEL
    return order.summary or order.text[:60]


def title_for(ctx: Context, order: Order) -> str:
    """What an answer to the sender may say about the order: a private need is described
    only 1:1, and only to those who may know it (see `may_know`)."""
    in_group = ctx.msg.chat_kind is ChatKind.GROUP
    return title_of(order, in_group or (order.private and not may_know(ctx, order)))


def admin_covers(ctx: Context, order: Order) -> bool:
    """Whether the sender is an admin here whose scope covers the order."""
    scope = ctx.admin_scope()
    return scope is not None and scope_covers(scope, order)


def serves(ctx: Context, order: Order) -> bool:
    """Whether the sender is an expert serving the order (lead or assist)."""
    expert = ctx.expert()
    return expert is not None and expert.id in {e for e, _ in ctx.store.team_of(order.no)}


def may_know(ctx: Context, order: Order) -> bool:
    """Whether the sender may read what a private order asks: its requester, the experts
    it was offered to or who serve it, and the admins whose scope covers it."""
    if ctx.msg.account == order.requester or admin_covers(ctx, order) or serves(ctx, order):
        return True
    expert = ctx.expert()
    return expert is not None and expert.id in order.announced


def post(ctx: Context, order: Order, text: str, *, at_requester: bool = False,
         mentions: tuple[str, ...] = (), buttons: tuple[Button, ...] = ()) -> None:
    """Post to the order's own chat (its group, or the requester's 1:1 chat for a private
    order), and confirm to the sender too when they wrote from elsewhere. `buttons` make it a
    card about the order where the platform can show one."""
    requester = mention_of(order.requester, order.platform)
    here = ctx.msg.platform == order.platform and ctx.msg.chat_id == order.chat_id
    reply_to = ctx.msg.msg_id if here and not ctx.job else None  # answers the message
    card = f"order:{order.no}" if buttons else ""
    if order.private:  # the requester's own 1:1 conversation with the bot
        ctx.send(Outgoing(order.platform, order.chat_id, text, chat_kind=ChatKind.SINGLE,
                          in_reply_to=reply_to, buttons=buttons, card=card))
    else:
        at = (requester,) if at_requester and requester else ()
        prefix = f"@{order.requester_name} " if at else ""
        ctx.send(Outgoing(order.platform, order.chat_id, prefix + text, (*at, *mentions),
                          ChatKind(order.chat_kind), in_reply_to=reply_to, buttons=buttons,
                          card=card))
    if not here and not ctx.job:
        ctx.reply(text)


def order_buttons(order: Order) -> tuple[Button, ...]:
    """The buttons under an order offered to experts: claim it, or join whoever claims it."""
    return (Button("接单", f"接单 {order.no}"), Button("协助", f"协助 {order.no}"))


def rating_buttons(order: Order) -> tuple[Button, ...]:
    """The buttons that rate a completed order."""
    return tuple(Button(word, f"评价 {order.no} {word}") for word in ("满意", "基本满意", "不满意"))


def scope_covers(scope: str, order: Order) -> bool:
    """Whether an admin scope ("" for all, "group:<id>", "region:<name>") covers the order."""
    return order.in_scope(scope)


def admin_accounts(ctx: Context, order: Order | None = None) -> list[str]:
    """Who to tell as admins: super admins, and chat-added admins whose scope covers the
    order (all, its group, or its region)."""
    accounts = list(ctx.config.bot.admins)
    for row in ctx.store.admins():
        if order is None or scope_covers(row["scope"] or "", order):
            accounts.append(row["account"])
    return list(dict.fromkeys(accounts))


def group_default(ctx: Context, key: str) -> str | None:
    """A group's default (set with /设置 地区|企业), never for a 1:1 chat."""
    msg = ctx.msg
    if msg.chat_kind is ChatKind.SINGLE:
        return None
    return ctx.store.setting(msg.platform, msg.chat_id, key)


def order_place(ctx: Context) -> tuple[str | None, str | None]:
    """The enterprise and region of a new order: as the message names them; else, in a
    group, those of the sender's latest group order that named its enterprise (an enterprise
    stays where it is), or those the roster of contacts gives; else the group's defaults. A
    1:1 order is a worker's own need: their employer is not assumed."""
    enterprise, region = ctx.parsed.enterprise, ctx.parsed.region
    if ctx.msg.chat_kind is ChatKind.SINGLE:
        return enterprise, region
    if not enterprise:
        known = (ctx.store.last_enterprise(ctx.msg.account)
                 or ctx.store.contact_of(ctx.msg.account))
        if known is not None:
            enterprise, region = known[0], region or known[1]
    return (enterprise or group_default(ctx, "enterprise"),
            region or group_default(ctx, "region"))
