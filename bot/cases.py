"""Excellent cases (优秀案例): the orders marked excellent, with what was done for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.exports import need_of, session_sums
from bot.templates import when
from bot.text.outcome import outcome_remark
from bot.text.parse import parse
from bot.text.phone_mask import mask_phones
from storage.base import parse_ts
from storage.records import OUTCOME_WORDS, Order, Session
from storage.store import Store


@dataclass(frozen=True)
class Step:
    """One thing done for a case: a progress note or a service session."""

    at: datetime
    text: str


@dataclass(frozen=True)
class Case:
    """One excellent case (优秀案例): an order marked excellent, with what was done."""

    order: Order
    title: str
    problem: str
    experts: list[str]
    steps: list[Step]
    result: str
    rating: str
    figures: dict[str, int | float]


def excellent_orders(store: Store, scope: str = "") -> list[int]:
    """The numbers of the orders marked excellent in an admin scope; never a private one
    (a worker's own need is no case to publish, even if it was marked before that rule)."""
    found, _ = store.search_orders(scope=scope, public=True, excellent=True, limit=1 << 62)
    return sorted(o.no for o in found)


def _session_line(s: Session) -> str:
    parts = [x for x in (
        f"{s.mode}服务" if s.mode else "服务",
        f"{s.hours:g} 小时" if s.hours is not None else "",
        f"专家 {len(s.experts)} 人" if s.experts else "",
        f"合理化建议 {s.suggestions} 条" if s.suggestions else "",
        f"受益 {s.beneficiaries} 人次" if s.beneficiaries else "",
    ) if x]
    line = "，".join(parts)
    remark = outcome_remark(s.note or "")  # the note without the figures just listed
    return f"{line}：{remark}" if remark else line


def problem_of(order: Order) -> str:
    """The problem as a booklet tells it: the message read again without its 点单：
    keyword, greetings and contact line; the summary, or the text, when that says nothing."""
    found = parse(order.text, order.created_at).problem
    return " ".join((found or order.summary or order.text).split())


def result_sentence(outcome: str | None, sessions: list[Session], remark: str) -> str:
    """The outcome as prose: 经专家现场指导，问题已解决，提出合理化建议 3 条，受益职工 30 人次。…"""
    sums = session_sums(sessions)
    modes = {s.mode for s in sessions if s.mode}
    how = f"经专家{modes.pop()}指导" if len(modes) == 1 else "经专家指导" if sessions else ""
    said = OUTCOME_WORDS.get(outcome or "", "")
    parts = [x for x in (
        how, f"问题{said}" if said else "",
        f"提出合理化建议 {sums['suggestions']} 条" if sums["suggestions"] else "",
        f"受益职工 {sums['beneficiaries']} 人次" if sums["beneficiaries"] else "",
    ) if x]
    text = "，".join(parts) + "。" if len(parts) > 1 or (parts and not how) else ""
    if remark:
        text += remark.rstrip("。.") + "。"
    return text or "（未填写）"


def case_of(store: Store, order: Order) -> Case:
    """Gather one case from the order, its team, sessions and progress events.

    A booklet is handed around, so phone numbers in its text are masked (138****5678).
    """
    experts = []
    for eid, role in store.team_of(order.no):
        e = store.get_expert(eid)
        if e is None:
            experts.append(eid)
            continue
        about = "，".join(x for x in (e.title, e.team, "牵头" if role == "lead" else "协助") if x)
        experts.append(f"{e.name}（{about}）")
    steps: list[Step] = []
    completion_note = ""
    for ev in store.events(order_no=order.no):
        note = str(ev.data.get("note") or "").strip()
        if ev.kind == "order.progress" and note:
            steps.append(Step(ev.at, f"进展：{note}"))
        elif ev.kind == "order.scheduled":
            mode = str(ev.data.get("mode") or "")
            visit = parse_ts(str(ev.data["visit_at"])) if ev.data.get("visit_at") else None
            on = f"于 {when(visit)} " if visit else ""
            steps.append(Step(ev.at, f"约定{on}{mode}服务" if mode else f"约定{on}服务"))
        elif ev.kind == "order.completed":
            completion_note = note
    sessions = store.sessions(order.no)
    steps.extend(Step(s.at, _session_line(s)) for s in sessions)
    steps.sort(key=lambda s: s.at)
    result = result_sentence(order.outcome, sessions, outcome_remark(completion_note))
    rating = order.rating or "（未评价）"
    if order.rating_stars:
        rating += f"（{order.rating_stars}星）"
    if order.rating_comment:
        rating += f"：{order.rating_comment}"
    title = order.enterprise or ""
    need = need_of(order)
    problem = problem_of(order)
    title = f"{title}：{need[:30]}" if title else need[:36]
    steps = [Step(s.at, mask_phones(s.text)) for s in steps]
    return Case(order=order, title=mask_phones(title), problem=mask_phones(problem),
                experts=experts, steps=steps, result=mask_phones(result),
                rating=mask_phones(rating), figures=session_sums(sessions))


def cases(store: Store, scope: str = "") -> list[Case]:
    """The excellent cases in an admin scope, by order number."""
    found = (store.get_order(no) for no in excellent_orders(store, scope))
    return [case_of(store, o) for o in found if o is not None and not o.private]
