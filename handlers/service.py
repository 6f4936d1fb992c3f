"""Serving an order: 预约 visit, 进展 progress, 办结 complete, 评价 rate, 补充 add details."""

from __future__ import annotations

import re
from datetime import datetime

from bot.model import Incoming
from bot.router import BotError, Context, Router
from bot.text.outcome import Outcome, read_outcome, read_rating, visit_mode
from bot.text.parse import parse
from handlers.announce import recommend_more
from handlers.common import ACTIVE, need_lead, need_team, order_arg, post
from storage.base import ts
from storage.records import OUTCOME_WORDS, OrderState

router = Router("service")

WEEKDAYS = "一二三四五六日"
NOT_ACTIVE = "#{no} {state}，不能{verb}。"
NEED_TIME = "请写明预约时间，例如「预约 {no} 5月20日上午 现场」或「预约 {no} 明天下午3点 线上」。"
PAST_TIME = "预约时间 {when} 已经过去了，请重新写一个时间。"
SCHEDULED = "#{no} 已预约：{when}{mode}，由 {expert} 服务。"
NEED_NOTE = "请写上进展内容，例如「进展 {no} 已远程指导调整溶解氧」。"
PROGRESS = "已记录 #{no} 的进展：{note}"
COMPLETED = ("#{no} 已办结：{outcome}{details}。感谢 {experts} 的服务！\n"
             "请点单人回复「评价 {no} 满意 / 基本满意 / 不满意」（也可 1–5星 加一句话）。")
MISSING = "#{no} 还缺：{parts}。请回复「补充 {no} {example}」补全，便于统计。"
ONLY_REQUESTER = "只有点单人可以评价 #{no}"
NOT_DONE = "#{no} {state}，办结后才能评价。"
RATED_ALREADY = "#{no} 已评价（{word}），感谢！"
NEED_RATING = "请选择：「评价 {no} 满意」「基本满意」或「不满意」，也可以写 1–5星，后面可加一句话。"
RATED = "感谢评价！#{no} {word}{stars}{comment}"
RATED_TELL = "#{no} 收到评价：{word}{stars}{comment}"
SUPPLEMENT_WHO = "只有点单人或接单专家可以补充 #{no}"
SUPPLEMENTED = "已补充 #{no}：{what}"
NOTHING_NEW = "没看到要补充的内容，请写成「补充 {no} ……」。"


_RATING_HEAD = re.compile(
    r"^\s*(?:非常|很|比较)?(?:基本满意|不满意|满意)|[1-5一二三四五]\s*(?:颗)?星|★+")


def outcome_of(c: Outcome) -> str | None:
    """The stored outcome code: solved, partial or unsolved (None when not said)."""
    if c.solved:
        return "solved"
    if c.result is None:
        return None
    return "partial" if "部分" in c.result else "unsolved"


def _when(t: datetime) -> str:
    return f"{t.month}月{t.day}日（周{WEEKDAYS[t.weekday()]}）{t:%H:%M}"


@router.message("schedule")
async def schedule(msg: Incoming, ctx: Context) -> None:
    """预约 N 时间 现场|线上：约定服务时间，例如「预约 12 5月20日上午 现场」"""
    order = order_arg(ctx, "预约")
    expert = need_team(ctx, order, "预约")
    if order.state not in ACTIVE:
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb="再预约"))
    when = ctx.parsed.visit_time
    if when is None:
        raise BotError(NEED_TIME.format(no=order.no))
    if when < ctx.now():
        raise BotError(PAST_TIME.format(when=_when(when)))
    mode = ctx.parsed.mode or order.visit_mode
    ctx.store.transition(order.no, ACTIVE, OrderState.SCHEDULED, msg.account, "order.scheduled",
                         {"visit_at": ts(when), "visit_mode": mode, "active_at": ctx.store.stamp()},
                         visit_at=ts(when), mode=mode, expert=expert.id)
    post(ctx, order, SCHEDULED.format(no=order.no, when=_when(when),
                                      mode=f" {mode}" if mode else "", expert=expert.name),
         at_requester=True)


@router.message("progress")
async def progress(msg: Incoming, ctx: Context) -> None:
    """进展 N 内容：记录服务进展（写了服务时长或受益人数时计为一场服务）"""
    order = order_arg(ctx, "进展")
    need_team(ctx, order, "记录进展")
    if order.state not in ACTIVE:
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb="记录进展"))
    note = (ctx.parsed.note or "").strip()
    if not note:
        raise BotError(NEED_NOTE.format(no=order.no))
    ctx.store.update_order(order.no, msg.account, "order.progress",
                           {"active_at": ctx.store.stamp()}, note=note[:500])
    c = read_outcome(note)
    if c.hours is not None or c.beneficiaries is not None:
        ctx.store.add_session(order.no, msg.account, mode=c.mode or visit_mode(note),
                              hours=c.hours, suggestions=c.suggestions,
                              beneficiaries=c.beneficiaries, note=note[:500])
    post(ctx, order, PROGRESS.format(no=order.no, note=note[:200]))


@router.message("complete")
async def complete(msg: Incoming, ctx: Context) -> None:
    """办结 N 已解决|部分解决|未解决 建议3条 服务2小时 受益30人 现场 总结：完成服务"""
    order = order_arg(ctx, "办结")
    if order.state is OrderState.OPEN:
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb="办结"))
    need_lead(ctx, order, "办结")
    if order.state not in ACTIVE:
        raise BotError(NOT_ACTIVE.format(no=order.no, state=order.state.word, verb="再办结"))
    note = (ctx.parsed.note or "").strip()
    c = read_outcome(note)
    outcome_code = outcome_of(c)
    mode = c.mode or order.visit_mode
    ctx.store.transition(order.no, ACTIVE, OrderState.COMPLETED, msg.account, "order.completed",
                         {"completed_at": ctx.store.stamp(), "outcome": outcome_code,
                          "active_at": ctx.store.stamp()},
                         outcome=outcome_code, note=note[:500])
    ctx.store.add_session(order.no, msg.account, mode=mode, hours=c.hours,
                          suggestions=c.suggestions, beneficiaries=c.beneficiaries,
                          note=note[:500])
    team = [eid for eid, _ in ctx.store.team_of(order.no)]
    ctx.matcher().learned(team, order.summary or order.text[:120], order.private,
                          order.category or "")
    names = "、".join(e.name for eid in team for e in [ctx.store.get_expert(eid)] if e)
    details = "".join(x for x in (
        f"，{mode}服务" if mode else "",
        f"，{c.hours:g} 小时" if c.hours is not None else "",
        f"，合理化建议 {c.suggestions} 条" if c.suggestions is not None else "",
        f"，受益 {c.beneficiaries} 人次" if c.beneficiaries is not None else "",
    ))
    outcome = OUTCOME_WORDS.get(outcome_code or "", "解决情况待补充")
    post(ctx, order, COMPLETED.format(no=order.no, outcome=outcome, details=details,
                                      experts=names), at_requester=True)
    missing = [label for label, value in (
        ("解决情况", outcome_code), ("服务时长", c.hours), ("受益人数", c.beneficiaries),
    ) if value is None]
    if missing:
        ctx.reply(MISSING.format(no=order.no, parts="、".join(missing),
                                 example="已解决 服务2小时 受益30人"))


@router.message("rate")
async def rate(msg: Incoming, ctx: Context) -> None:
    """评价 N 满意|基本满意|不满意（或 1–5星）一句话：点单人评价服务"""
    order = order_arg(ctx, "评价")
    if msg.account != order.requester:
        raise BotError(ONLY_REQUESTER.format(no=order.no))
    if order.state is OrderState.RATED:
        raise BotError(RATED_ALREADY.format(no=order.no, word=order.rating))
    if order.state is not OrderState.COMPLETED:
        raise BotError(NOT_DONE.format(no=order.no, state=order.state.word))
    note = (ctx.parsed.note or "").strip()
    word, stars = read_rating(note)
    if word is None:
        raise BotError(NEED_RATING.format(no=order.no))
    comment = _RATING_HEAD.sub("", note).strip(" ，,。.；;：:")
    ctx.store.transition(order.no, (OrderState.COMPLETED,), OrderState.RATED, msg.account,
                         "order.rated",
                         {"rating": word, "rating_stars": stars,
                          "rating_comment": comment, "rated_at": ctx.store.stamp()},
                         rating=word, stars=stars, comment=comment)
    parts = {"no": order.no, "word": word, "stars": f"（{stars}星）" if stars else "",
             "comment": f"：{comment}" if comment else ""}
    ctx.reply(RATED.format(**parts))
    for eid, _ in ctx.store.team_of(order.no):
        e = ctx.store.get_expert(eid)
        uid = e.account_on(order.platform) if e else None
        if uid:
            ctx.tell(uid, RATED_TELL.format(**parts), platform=order.platform, about=order)


@router.message("supplement")
@router.reply("supplement", "other", quoting="补充")
async def supplement(msg: Incoming, ctx: Context) -> None:
    """补充 N 内容：点单人补充需求或联系方式；接单专家补充办结数据"""
    order = order_arg(ctx, "补充")
    rest = (ctx.parsed.note or "").strip() if ctx.parsed.order_no is not None \
        else msg.text.strip()
    if not rest:
        raise BotError(NOTHING_NEW.format(no=order.no))
    expert = ctx.expert()
    if expert and order.lead == expert.id and order.state in (
            OrderState.COMPLETED, OrderState.RATED):
        _amend_completion(msg, ctx, order.no, rest)
        return
    if msg.account != order.requester:
        raise BotError(SUPPLEMENT_WHO.format(no=order.no))
    p = ctx.parsed if ctx.parsed.intent == "supplement" else parse(
        f"补充 {order.no} {rest}", msg.sent_at or ctx.now())
    sets: dict[str, object] = {"text": f"{order.text}\n补充：{rest}"}
    found = []
    for key, value, label in (("phone", p.phone, "电话"), ("contact", p.contact, "联系人"),
                              ("enterprise", p.enterprise, "企业"),
                              ("deadline", p.deadline.isoformat() if p.deadline else None,
                               "期限")):
        if value:
            sets[key] = value
            found.append(f"{label} {value}")
    whole = parse(f"点单：{order.text}\n{rest}", msg.sent_at or ctx.now())
    if _describes_the_problem(rest, found):  # read the order again: what it needs now
        for key, value in (("category", whole.category), ("service_type", whole.service_type),
                           ("region", whole.region or order.region), ("summary", whole.summary)):
            if value:
                sets[key] = value
        found.append("需求")
    elif not order.summary or len(order.summary) < 12:
        sets["summary"] = f"{order.summary or ''} {p.summary or rest[:40]}".strip()[:80]
    ctx.store.update_order(order.no, msg.account, "order.supplemented", sets, text=rest[:500])
    post(ctx, order, SUPPLEMENTED.format(no=order.no, what="；".join(
        f for f in found if f != "需求") or rest[:60]))
    fresh = ctx.store.get_order(order.no)
    if "需求" in found and fresh is not None and fresh.state is OrderState.OPEN:
        recommend_more(ctx, fresh)


def _describes_the_problem(rest: str, found: list[str]) -> bool:
    """Whether what was added says more about the problem than a phone, a name or a date:
    words left once those are taken out."""
    words = re.sub(r"[\d\s\-+()（）:：,，。.、；;]+", "", rest)
    return len(words) >= 6 or not found


def _amend_completion(msg: Incoming, ctx: Context, no: int, rest: str) -> None:
    c = read_outcome(rest)
    code = outcome_of(c)
    sessions = ctx.store.sessions(no)
    if sessions:
        ctx.store.amend_session(sessions[-1].id, msg.account, hours=c.hours,
                                suggestions=c.suggestions, beneficiaries=c.beneficiaries,
                                mode=c.mode)
    if code:
        ctx.store.update_order(no, msg.account, "order.outcome", {"outcome": code},
                               outcome=code)
    got = [x for x in (
        OUTCOME_WORDS.get(code or ""),
        f"服务 {c.hours:g} 小时" if c.hours is not None else None,
        f"合理化建议 {c.suggestions} 条" if c.suggestions is not None else None,
        f"受益 {c.beneficiaries} 人次" if c.beneficiaries is not None else None,
    ) if x]
    if not got:
        raise BotError(NOTHING_NEW.format(no=no))
    ctx.reply(SUPPLEMENTED.format(no=no, what="，".join(got)))
