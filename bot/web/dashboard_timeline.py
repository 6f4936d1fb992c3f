"""An order's audit events told in words for the dashboard's timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from storage.records import OUTCOME_WORDS, Event, Order

Names = Callable[[str], str]


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    actor: str
    what: str
    detail: str
    kind: str


KIND_WORDS = {
    "order.created": "提交点单",
    "order.announced": "通知专家",
    "order.claimed": "接单",
    "order.assigned": "管理员指派",
    "order.assisted": "加入协助",
    "order.assist_left": "退出协助",
    "order.released": "退单",
    "order.scheduled": "预约服务",
    "order.progress": "记录进展",
    "order.supplemented": "补充信息",
    "order.completed": "办结",
    "order.outcome": "更新解决情况",
    "order.rated": "评价",
    "order.cancelled": "撤销",
    "order.closed": "管理员关闭",
    "order.case": "优秀案例",
    "order.attached": "附上图片或文件",
    "session.logged": "记录服务场次",
    "session.amended": "补充服务数据",
}


def _s(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _session(data: dict[str, object], names: Names) -> str:
    experts = data.get("experts")
    team = "、".join(names(str(e)) for e in experts) if isinstance(experts, list) else ""
    parts = [
        f"{_s(data, 'mode')}服务" if data.get("mode") else "",
        f"{_s(data, 'hours')} 小时" if data.get("hours") is not None else "",
        f"合理化建议 {_s(data, 'suggestions')} 条" if data.get("suggestions") is not None else "",
        f"受益 {_s(data, 'beneficiaries')} 人次" if data.get("beneficiaries") is not None else "",
        f"专家：{team}" if team else "",
    ]
    return "，".join(p for p in parts if p)


def describe(ev: Event, names: Names) -> tuple[str, str]:
    """(what happened, details) for one event."""
    d = ev.data
    what = KIND_WORDS.get(ev.kind, ev.kind)
    expert = names(_s(d, "expert")) if d.get("expert") else ""
    reason = _s(d, "reason")
    if ev.kind == "order.created":
        return what, _s(d, "summary")
    if ev.kind == "order.announced":
        experts = d.get("experts")
        who = "、".join(names(str(e)) for e in experts) if isinstance(experts, list) else ""
        return ("再次通知专家" if d.get("again") else what), who or "（没有匹配的专家）"
    if ev.kind in ("order.claimed", "order.assisted", "order.assist_left"):
        return what, "；".join(x for x in (expert, reason) if x)
    if ev.kind == "order.assigned":
        prev = names(_s(d, "previous")) if d.get("previous") else ""
        what = "管理员改派" if prev else what
        return what, "；".join(x for x in (
            f"{prev} → {expert}" if prev else expert, reason) if x)
    if ev.kind == "order.released":
        return what, "；".join(x for x in (expert, reason) if x)
    if ev.kind == "order.scheduled":
        return what, " ".join(x for x in (_s(d, "visit_at")[:16].replace("T", " "),
                                          _s(d, "mode")) if x)
    if ev.kind in ("order.progress", "order.supplemented"):
        return what, _s(d, "note") or _s(d, "text")
    if ev.kind in ("order.completed", "order.outcome"):
        outcome = OUTCOME_WORDS.get(_s(d, "outcome"), "")
        return what, "；".join(x for x in (outcome, _s(d, "note")) if x)
    if ev.kind == "order.rated":
        stars = f"（{_s(d, 'stars')}星）" if d.get("stars") else ""
        comment = f"：{_s(d, 'comment')}" if d.get("comment") else ""
        return what, f"{_s(d, 'rating')}{stars}{comment}"
    if ev.kind in ("order.cancelled", "order.closed"):
        return what, reason
    if ev.kind == "order.case":
        return ("标为优秀案例" if d.get("excellent") else "取消优秀案例"), ""
    if ev.kind == "order.attached":
        word = {"image": "图片", "file": "文件", "voice": "语音", "video": "视频"}.get(
            _s(d, "what"), "附件")
        return what, " ".join(x for x in (word, _s(d, "name")) if x)
    if ev.kind in ("session.logged", "session.amended"):
        return what, _session(d, names)
    return what, "，".join(f"{k}={v}" for k, v in d.items() if v not in (None, ""))


def actor_name(actor: str, order: Order, experts_by_account: Names) -> str:
    """Who acted, in words: the requester, an expert, the bot, or the account."""
    if actor == "bot":
        return "机器人"
    if actor == order.requester:
        return f"{order.requester_name}（点单人）"
    if actor.startswith("dashboard:"):
        return "管理员（后台）"
    return experts_by_account(actor)


def timeline(events: list[Event], order: Order, names: Names,
             experts_by_account: Names) -> list[Entry]:
    return [
        Entry(ev.at, actor_name(ev.actor, order, experts_by_account), *describe(ev, names),
              kind=ev.kind)
        for ev in events
    ]
