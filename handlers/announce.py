"""Announcing an order: its summary, and the best-fitting experts @-mentioned with reasons."""

from __future__ import annotations

import json

from bot.matching import Suggestion
from bot.model import Outgoing
from bot.router import Context
from bot.text.phones import masked_value
from handlers.common import (
    admin_accounts,
    expert_line,
    mention_of,
    order_buttons,
    post,
    title_of,
)
from storage.records import Order

RECEIVED = "已收到点单 #{no}"
REOPENED = "#{no} 重新待接单"
RECOMMEND = "推荐专家："
CLAIM_HINT = "请回复「接单 {no}」认领（先到先得），其他专家可回复「协助 {no}」参与。"
NO_MATCH = "暂未找到专长对口的专家，已转管理员人工派单；专家也可直接回复「接单 {no}」认领。"
ADMIN_NO_MATCH = ("#{no} 没有匹配到可用的专家（专家库里没有专长相近的，或相近的都已满负荷、暂停），"
                  "请用「/指派 {no} 专家编号」人工派单。\n需求：{title}")
ADMIN_UNSURE = ("#{no} 没有专长明显对口的专家，请人工派单（「/指派 {no} 专家编号」）。\n"
                "需求：{title}\n最接近的：\n{closest}")
ASK_AGAIN = "#{no} 还在等专家认领：{summary}\n推荐理由：{reasons}\n可回复「接单 {no}」认领。"
NOT_IN_GROUP = ("新点单 #{no}（{where}）推荐了您：{summary}\n推荐理由：{reasons}\n"
                "可回复「接单 {no}」认领，或「协助 {no}」参与。")
PRIVATE_NOTE = "您的需求已私下登记，专家接单后会与您单独联系。"
MORE = "#{no} 补充了需求：{title}"
PRIVATE_ASK = ("新的职工个人需求 #{no}：{summary}\n推荐理由：{reasons}\n"
               "联系方式在接单后私聊告知。请回复「接单 {no}」认领。")


def order_lines(order: Order, in_group: bool) -> list[str]:
    """The fields of an order, one per line, as a post may show them."""
    if order.private and in_group:
        return [f"需求：{title_of(order, in_group)}"]
    lines = []
    # A group sees the number masked whatever its kind (a bare local number reads as no
    # phone to the router's masking, which looks for 电话 before one).
    phone = masked_value(order.phone) if in_group and order.phone else order.phone
    for label, value in (
        ("企业", order.enterprise), ("需求", order.summary),
        ("类别", " · ".join(x for x in (order.category, order.service_type) if x)),
        ("地区", order.region),
        ("联系人", " ".join(x for x in (order.contact, phone) if x)),
        ("期限", order.deadline.isoformat() if order.deadline else None),
    ):
        if value:
            lines.append(f"{label}：{value}")
    if order.urgent:
        lines.append("紧急：是")
    return lines


def announce(ctx: Context, order: Order, exclude: frozenset[str] = frozenset(),
             again: bool = False, matches: list[Suggestion] | None = None) -> None:
    """Post the order to its chat and @-mention the experts who fit it best (or `matches`)."""
    in_group = not order.private
    if matches is None:
        matches = ctx.matcher().suggest(order.text, order.region, ctx.config.bot.announce_top,
                                        exclude=exclude)
    closest: list[Suggestion] = []
    if matches and not matches[0].sure:  # nobody fits well: say so, the admins decide
        closest, matches = matches, []
    head = (REOPENED if again else RECEIVED).format(no=order.no)
    lines = [head, *order_lines(order, in_group=True if again else in_group)]
    ids = [m.expert.id for m in matches]
    ctx.store.update_order(order.no, "bot", "order.announced",
                           {"announced": json.dumps(sorted({*order.announced, *ids}))},
                           experts=ids, again=again)
    if not matches:
        lines.append(NO_MATCH.format(no=order.no))
    _announce(ctx, order, lines, matches, again)
    if matches:
        reached = _to_expert_groups(ctx, order, lines, matches)
        if not order.private and not again:  # (a private order is offered 1:1 anyway)
            _tell_the_absent(ctx, order, matches, reached)
    else:
        _tell_admins(ctx, order, closest)


def _tell_the_absent(ctx: Context, order: Order, matches: list[Suggestion],
                     reached: set[str]) -> None:
    """An expert the bot never saw in the order's group (nor in an expert group that got the
    order) would miss the @: tell them 1:1."""
    absent: list[tuple[Suggestion, str]] = []
    for m in matches:
        uid = m.expert.account_on(order.platform)
        if uid and uid not in reached:
            absent.append((m, uid))
    if not absent:
        return
    here = ctx.store.seen_among(order.platform, order.chat_id, (uid for _, uid in absent))
    where = ctx.store.chat(order.platform, order.chat_id) or {}
    place = str(where.get("title") or "") or "群聊"
    for m, uid in absent:
        if uid not in here:
            ctx.tell(uid, NOT_IN_GROUP.format(no=order.no, where=place,
                                              summary=title_of(order, False),
                                              reasons="；".join(m.reasons)),
                     platform=order.platform, about=order, buttons=order_buttons(order))


def _to_expert_groups(ctx: Context, order: Order, lines: list[str],
                      matches: list[Suggestion]) -> set[str]:
    """Also announce in the experts' group of the order's region (set with /设置 专家群);
    returns who was @-mentioned in a group the bot has seen them in."""
    reached: set[str] = set()
    body = [lines[0], *order_lines(order, in_group=True)]
    for platform, chat_id, region in ctx.store.chats_with("expert_group"):
        if platform != order.platform or chat_id == order.chat_id:
            continue
        if region != "全部" and not (order.region or "").startswith(region):
            continue
        mentions = tuple(uid for m in matches for uid in [m.expert.account_on(platform)] if uid)
        names = "、".join(f"@{m.expert.name}" for m in matches)
        ctx.send(Outgoing(platform, chat_id, "\n".join(
            [*body, f"推荐：{names}", CLAIM_HINT.format(no=order.no)]), mentions,
            buttons=order_buttons(order), card=f"order:{order.no}"))
        reached.update(ctx.store.seen_among(platform, chat_id, mentions))
    return reached


def _announce(ctx: Context, order: Order, lines: list[str], matches: list[Suggestion],
              again: bool) -> None:
    if order.private:
        lines.append(PRIVATE_NOTE)
        if not again:
            post(ctx, order, "\n".join(lines))
        for m in matches:
            uid = m.expert.account_on(order.platform)
            if uid:
                ctx.tell(uid, PRIVATE_ASK.format(no=order.no, summary=order.summary or "",
                                                 reasons="；".join(m.reasons)),
                         platform=order.platform, about=order,
                         buttons=order_buttons(order)[:1])
        return
    mentions: list[str] = []
    if matches:
        lines.append(RECOMMEND)
        for m in matches:
            uid = m.expert.account_on(order.platform)
            if uid:
                mentions.append(uid)
            lines.append(f"@{expert_line(m.expert)} {'；'.join(m.reasons)}")
        lines.append(CLAIM_HINT.format(no=order.no))
    post(ctx, order, "\n".join(lines), mentions=tuple(mentions),
         buttons=order_buttons(order) if matches else ())
    if again:  # a later post may not be able to @ anyone (DingTalk): ask each one 1:1 too
        for m in matches:
            uid = m.expert.account_on(order.platform)
            if uid:
                ctx.tell(uid, ASK_AGAIN.format(no=order.no, summary=title_of(order, False),
                                               reasons="；".join(m.reasons)),
                         platform=order.platform, about=order, buttons=order_buttons(order))


def recommend_more(ctx: Context, order: Order) -> int:
    """After the requester added to an open order: the experts who fit it now and were not
    asked before are @-mentioned (a private order: asked 1:1); how many."""
    found = ctx.matcher().suggest(order.text, order.region, ctx.config.bot.announce_top)
    if found and not found[0].sure:
        return 0  # still nobody who clearly fits: the admins were asked already
    fresh = [m for m in found if m.expert.id not in order.announced]
    if not fresh:
        return 0
    ids = [m.expert.id for m in fresh]
    ctx.store.update_order(order.no, "bot", "order.announced",
                           {"announced": json.dumps(sorted({*order.announced, *ids}))},
                           experts=ids, again=True)
    if order.private:
        _announce(ctx, order, [], fresh, again=True)
        return len(fresh)
    mentions = tuple(uid for m in fresh for uid in [m.expert.account_on(order.platform)] if uid)
    lines = [MORE.format(no=order.no, title=title_of(order, True)), RECOMMEND,
             *(f"@{expert_line(m.expert)} {'；'.join(m.reasons)}" for m in fresh),
             CLAIM_HINT.format(no=order.no)]
    post(ctx, order, "\n".join(lines), mentions=mentions, buttons=order_buttons(order))
    _tell_the_absent(ctx, order, fresh, set())
    return len(fresh)


def _tell_admins(ctx: Context, order: Order, closest: list[Suggestion]) -> None:
    """Ask the admins to assign by hand, with the closest experts when there are any."""
    title = title_of(order, False)
    if closest:
        lines = "\n".join(f"{m.expert.name}（{m.expert.id}）：{'；'.join(m.reasons)}"
                          for m in closest)
        text = ADMIN_UNSURE.format(no=order.no, title=title, closest=lines)
    else:
        text = ADMIN_NO_MATCH.format(no=order.no, title=title)
    for account in admin_accounts(ctx, order):
        uid = mention_of(account, order.platform)
        if uid:
            ctx.tell(uid, text, platform=order.platform, about=order)
