"""Read one chat message: its intent and, for an order, the fields of the order."""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from functools import cache
from typing import Any

from bot.text.commands import Command, read_command
from bot.text.dates import find_deadline, parse_visit_time
from bot.text.form import blank_labels, is_form, parse_form
from bot.text.lexicon import words
from bot.text.normalize import mention_prefix, normalize
from bot.text.orgs import find_enterprise, form_enterprise
from bot.text.outcome import Outcome, read_outcome, read_rating, visit_mode
from bot.text.people import find_contact, name_at
from bot.text.phone_mask import mask_phones as mask_phones
from bot.text.phones import find_phones
from bot.text.regions import find_region
from bot.text.request import classify, has_strong_keyword
from bot.text.summary import clip_summary, problem_text, time_clause
from bot.text.taxonomy import find_category, find_service_type

INTENTS = (
    "new_order", "menu_order", "claim", "assist", "release", "schedule", "progress",
    "complete", "rate", "cancel", "supplement", "query", "my_orders", "open_orders",
    "menu", "help", "admin", "other",
)


@dataclass(frozen=True)
class Parsed:
    """What a message says: its intent and, for an order, the fields of the order."""

    intent: str = "other"
    is_request: bool = False
    unsure: bool = False
    bare_order: bool = False  # 点单 alone: the bot asks what the problem is
    order_no: int | None = None
    enterprise: str | None = None
    contact: str | None = None
    phone: str | None = None
    phones: tuple[str, ...] = field(default_factory=tuple)
    deadline: date | None = None
    urgent: bool = False
    category: str | None = None
    service_type: str | None = None
    region: str | None = None
    summary: str | None = None
    # Beyond the contract: details for the handlers.
    problem: str | None = None  # the summary unclipped: what the semantic matcher reads
    menu_no: int | None = None  # 点单 3 → 3
    location: str | None = None  # a form's 地点/地址
    note: str | None = None  # text after the order number: reason, progress, comment, topic
    visit_time: datetime | None = None  # 预约: when
    mode: str | None = None  # 现场 / 线上
    outcome: Outcome | None = None  # 办结
    rating: str | None = None  # 评价: 满意 / 基本满意 / 不满意
    stars: int | None = None  # 评价: 1–5 when given
    command: str | None = None  # admin: help, experts, assign, … (or the word given)
    args: tuple[str, ...] = field(default_factory=tuple)  # admin: the words after the command

    @property
    def reason(self) -> str | None:
        """The reason given with 退单 or 撤销 (the note)."""
        return self.note

    def contract_json(self) -> dict[str, Any]:
        """The object `diandan parse` prints for this message."""
        d = asdict(self)
        keep = ("is_request", "intent", "enterprise", "contact", "phone", "deadline",
                "urgent", "category", "service_type", "region", "summary")
        out = {k: d[k] for k in keep}
        out["deadline"] = self.deadline.isoformat() if self.deadline else None
        return out


log = logging.getLogger(__name__)
_URGENT_CACHE: dict[str, tuple[str, ...]] = {}


@cache
def _recurring_stop() -> re.Pattern[str]:
    """A stop that keeps coming back (电机经常过热停机): a trouble, not an emergency."""
    again = "|".join(map(re.escape, words("urgent", "recurring")))
    return re.compile(f"(?:{again})[^，。,.!！?？;；]{{0,6}}?(?:停机|停线|停产)")


def _urgent(norm: str) -> bool:
    if not _URGENT_CACHE:
        _URGENT_CACHE["yes"] = words("urgent", "words")
        _URGENT_CACHE["no"] = words("urgent", "not_urgent")
    text = _recurring_stop().sub(" ", norm)
    for w in _URGENT_CACHE["no"]:
        text = text.replace(w, " ")
    return any(w in text for w in _URGENT_CACHE["yes"])


_AFTER_DEADLINE = re.compile(r"^\s*(?:之前|以前|前|之内|以内|内|截止|为止|完成|搞定|到位)?")


def _fields(original: str, norm: str, start: int, now: datetime, intent: str,
            problem_override: str | None = None) -> dict[str, Any]:
    """Order fields of norm[start:] (positions shared with `original`)."""
    body = norm[start:]
    form = parse_form(body)
    found = find_phones(body)
    # A hotline (400/800: a firm's service line, 厂家400-…打了没人来) is the contact's number
    # only when no other is given.
    phones = tuple(p.value for p in sorted(found, key=lambda p: p.kind == "hotline"))
    drop: list[tuple[int, int]] = []
    for p in found:
        drop.append((p.start, p.end))

    contact = None
    if "contact" in form:
        value = form["contact"][0]
        contact = (name_at(value, 0, strong=True) or find_contact(value, [])
                   or (value if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", value) else None))
    fix = _last_correction(body)  # 联系人马经理，哦不对…找小屠: what is said after counts
    if contact is None and fix:
        contact = find_contact(body[fix:], [p for p in found if p.start >= fix])
    if contact is None:
        contact = find_contact(body, found)

    enterprise = None
    if "enterprise" in form:  # the name ends at a clause mark (单位：X，联系电话…)
        enterprise = form_enterprise(form["enterprise"][0])
    if enterprise is None:
        enterprise = find_enterprise(body)
    if contact and enterprise and contact in enterprise:
        contact = None  # 东方模塑 139…: the firm beside the number, not a person
    if contact:
        i = body.find(contact)
        if i >= 0:
            drop.append((i, i + len(contact)))

    deadline = None
    if "deadline" in form:
        dm = find_deadline(form["deadline"][0], now.date())
        deadline = dm.value if dm else None
    if deadline is None:
        dm = find_deadline(body, now.date())
        later = find_deadline(body[fix:], now.date()) if fix else None
        if later is not None:  # 下周三前，哦不对…改成下周四前
            dm = replace(later, start=later.start + fix, end=later.end + fix)
        if dm:
            deadline = dm.value
            tail = _AFTER_DEADLINE.match(body[dm.end:])
            own = time_clause(body, dm.start, dm.end + (tail.end() if tail else 0))
            if own:
                drop.append(own)  # 期限 says it; 明天上午来厂指导 keeps it

    location = form["location"][0] if "location" in form else None
    region = (find_region(location) if location else None) or find_region(body)
    problem = problem_override or (form["problem"][0] if "problem" in form else None)
    topic = problem or body
    no_phones = topic
    for p in sorted(found if topic is body else find_phones(topic), key=lambda p: -p.start):
        no_phones = no_phones[:p.start] + " " + no_phones[p.end:]
    category = None
    if "category" in form:
        category = find_category(form["category"][0])
    by_name = True
    if category is None and enterprise and enterprise in no_phones:
        # The firm's name says what it is (通达物流), not what it asks; it counts only when
        # nothing else in the message names a field, and never in a menu order (the item
        # ordered is the service: 清单第7项 海宁一家经编厂要).
        category = find_category(no_phones.replace(enterprise, " "))
        by_name = intent != "menu_order"
    if category is None and by_name:
        category = find_category(no_phones)
    service_type = None
    if "service_type" in form:
        service_type = find_service_type(form["service_type"][0], None)
    service_type = service_type or find_service_type(no_phones, category)
    urgent = _urgent(body) or (
        "urgency" in form and not form["urgency"][0].startswith(("否", "不")))
    if intent == "supplement":
        summary = whole = body.strip() or None
    else:
        whole = problem_text(original[start:start + len(body)], body, drop, problem, enterprise)
        summary = clip_summary(whole) if whole else None
    segment = original[start:start + len(body)]
    return {
        "enterprise": _as_written(enterprise, body, segment),
        "contact": _as_written(contact, body, segment),
        "phone": phones[0] if phones else None,
        "phones": phones, "deadline": deadline, "urgent": urgent, "category": category,
        "service_type": service_type, "region": region, "summary": summary, "problem": whole,
        "location": location,
    }


# What a blank form to copy holds instead of values: XXX, 某某, ***, ……
_PLACEHOLDER = re.compile(r"^\s*(?:[xX×*＊_＿]{2,}|某+|某某.*|\.{3,}|…+|（\s*）|\(\s*\))\s*$")


def _template(form: dict[str, tuple[str, int]]) -> bool:
    """A format to copy (单位：XXX 问题：XXX …), not an order: two fields or more are blanks."""
    return sum(1 for value, _at in form.values() if _PLACEHOLDER.match(value)) >= 2


_CORRECTION = re.compile(r"哦不对|不对不对|啊不对|不对[，,]|更正一下|更正：|纠正一下|说错了")


def _last_correction(body: str) -> int:
    """Where the text after the sender's last correction of themselves starts (0: none)."""
    found = list(_CORRECTION.finditer(body))
    return found[-1].end() if found else 0


_YOU = re.compile(r"(?:你们|你|您)(?!好)")


def _to_a_member(mentions: str, body: str) -> bool:
    """The message @-mentions a person by name and title and speaks to them (你们…): a talk
    between members, unless it says 点单."""
    people = [m for m in re.findall(r"@(\S+)", mentions) if name_at(m, 0, strong=False) == m]
    return bool(people) and bool(_YOU.search(body)) and not has_strong_keyword(body)


def _as_written(value: str | None, body: str, segment: str) -> str | None:
    """A field read from the normalised text, as the message wrote it (鄭經理, not 郑经理):
    normalising keeps positions, so the same span of the original holds it."""
    if not value or segment == body:
        return value
    i = body.find(value)
    return segment[i:i + len(value)] if i >= 0 else value


def _from_command(cmd: Command, original: str, norm: str, start: int, now: datetime) -> Parsed:
    rest = cmd.rest
    base: dict[str, Any] = {"intent": cmd.intent, "order_no": cmd.order_no, "note": rest or None}
    at = start + cmd.rest_start
    if cmd.intent == "menu_order":
        base.update(_fields(original, norm, at, now, "menu_order"))
        base.update(is_request=True, menu_no=cmd.menu_no)
    elif cmd.intent == "supplement":
        base.update(_fields(original, norm, at, now, "supplement"))
    elif cmd.intent == "schedule":
        base.update(visit_time=parse_visit_time(rest, now), mode=visit_mode(rest))
    elif cmd.intent == "complete":
        outcome = read_outcome(rest)
        base.update(outcome=outcome, mode=outcome.mode)
    elif cmd.intent == "rate":
        rating, stars = read_rating(rest)
        base.update(rating=rating, stars=stars)
    elif cmd.intent == "admin":
        base.update(command=cmd.command, args=cmd.args)
    elif cmd.intent in ("progress",):
        base.update(mode=visit_mode(rest))
    return Parsed(**base)


def parse(text: str, now: datetime) -> Parsed:
    """Parse one message against its own time `now` (aware, Asia/Shanghai). Never raises."""
    if not isinstance(text, str) or not text.strip():
        return Parsed()
    try:
        return _parse(text, now)
    except Exception:  # a parser bug must not lose the message; it reads as "other"
        log.exception("parse failed on a message of %d characters", len(text))
        return Parsed()


def _parse(text: str, now: datetime) -> Parsed:
    norm = normalize(text)
    start = mention_prefix(norm)
    while start < len(norm) and norm[start].isspace():
        start += 1
    body = norm[start:].rstrip()
    if not body:
        return Parsed()
    cmd = read_command(body)
    if cmd is not None:
        return _from_command(cmd, text, norm, start, now)
    if _to_a_member(norm[:start], body):
        return Parsed()  # @钟经理 你们换模用的是…: a question to another member
    form = parse_form(body)
    if (form and _template(form)) or (not form and blank_labels(body) >= 3):
        return Parsed()  # a format to copy or fill in: a notice, not an order
    if form and is_form(form):
        return Parsed(intent="new_order", is_request=True,
                      **_fields(text, norm, start, now, "new_order"))
    signal = classify(body)
    if signal.is_request:
        return Parsed(intent="new_order", is_request=True,
                      **_fields(text, norm, start, now, "new_order"))
    return Parsed(unsure=signal.unsure, bare_order=signal.bare)
