"""Dates and times in Chinese messages, read against the message's own time."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.text.cnnum import NUM, cn_int
from bot.text.holidays import holiday_spans, named_holidays
from bot.text.normalize import normalize

# Vague parts of a month as a day: 月初 the 5th, 上旬 the 10th, 月中 the 15th, 中旬 the 20th;
# 下旬, 月底 and 月末 are the month's last day (0 below).
_PART_DAY = {"初": 5, "上旬": 10, "中": 15, "中旬": 20, "下旬": 0, "底": 0, "末": 0}
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}

_CUE_AFTER = re.compile(
    r"^\s*(?:之前|以前|前|之内|以内|内|截止|为止|到期|前后|左右|完成|搞定|解决|到位"
    # 后天上午前, 明天下班之前: a part of the day, then 前
    r"|(?:上午|下午|中午|早上|晚上|傍晚|下班)\s*(?:之前|以前|前)"
    # 明天能过来吗, 今晚或者明天能来: the visit asked for
    r"|(?:能|可以|能不能)(?:过来|来|到))"
)
_CUE_BEFORE = re.compile(
    r"(?:最好|希望|务必|必须|请于|请在|要求|截止|截至|期限|最晚|最迟|时间|日期|期望|争取|赶在|before|by)"
    r"\s*[:：]?\s*(?:在|于)?\s*$"
)
_PAST_AFTER = re.compile(
    r"^\s*(?:以来|开始出现|起就|就开始|到现在|至今|"
    r"(?:一早|早上|早晨|上午|中午|下午|晚上|凌晨)(?:开始|起|以来|就|到现在|一直|突然))"
)

_FULL = re.compile(r"(?<!\d)(\d{4})\s*(?:年\s*(" + NUM + r")\s*月\s*(" + NUM + r")\s*[日号]?"
                   r"|[-/.](\d{1,2})[-/.](\d{1,2})(?!\d))")
# A month is one or two digits (0577-62203318转606 月底前 is no 606th month).
_MONTH = r"(\d{1,2}(?!\d)|[零〇一二两三四五六七八九十]{1,3})"
_MONTH_DAY = re.compile(r"(?<![\d年])" + _MONTH + r"\s*月(?:份)?\s*(?:(" + NUM + r")\s*[日号]?"
                        r"|(初|上旬|中旬|下旬|中|底|末))")
_MONTH_BEFORE = re.compile(r"(?<![\d年])" + _MONTH + r"\s*月份?\s*(?=之前|以前|前)")
_YEAR_WORD = re.compile(r"(今年|明年|后年)\s*(" + NUM + r")\s*月\s*(" + NUM + r")\s*[日号]?")
# What comes before a number that is a value, not a day: a unit or a quantity (pH 6.5), a change
# to it (降到6.5, 升至7.2), about (约6.5).
_MEASURED = re.compile(r"(?:[A-Za-z]|到|至|约|达|值|为)\s*$")
_DOTTED = re.compile(r"(?<![\d./])(?<!\d:)(\d{1,2})[./](\d{1,2})(?![\d.%/:])")
# 这个月15号, 下个月中旬; also with the month said again: 这个月月底, 本月的月初
_REL_MONTH = re.compile(r"(本月|这个?月|当月|下下个?月|下个?月)\s*(?:的)?\s*"
                        r"(?:月(?=初|上旬|中旬|下旬|中|底|末))?(?:(" + NUM + r")\s*[日号]"
                        r"|(初|上旬|中旬|下旬|中|底|末))")
_BARE_MONTH_END = re.compile(r"(?<![月\d本这下当])(月底|月末|年底|年末|年前|月中)(?!旬)")
_DAY_ONLY = re.compile(
    r"(?<![月\d年/.\-#第路街巷弄幢栋楼室道村区园])(" + NUM + r")\s*号"
    # …not a numbered thing: 2号机, 3号车间, 1号包装线, 5号生产线, 2号工位, 4号模具
    r"(?![机线车楼门厂库仓位泵炉罐塔池房间单店窑台柜码包生产流工设模槽箱管井棚架区栋室桶缸锅梯闸阀杆])"
)
_REL_DAY = re.compile(r"大后天|后天|明天|明日|明儿|今天|今日|今儿|当天|今晚|明早|明晚|次日|第二天")
_WITHIN = re.compile(
    r"(" + NUM + r"|两三|三五|一两|三四|半)\s*(?:个)?\s*(?:工作日|天|日|周|星期|礼拜|月|小时)"
    r"(?:\s*(?:之内|以内|内|后|之后|以后))"
)
_HALF_MONTH = re.compile(r"半个?月\s*(?:之内|以内|内)")
_WEEK = re.compile(
    r"(?<![老小])(上上|上|本|这|这个|下下|下下个|下|下个)?\s*(?:周|星期|礼拜)"
    r"(?:\s*([一二三四五六日天末])|([1-7])(?!\d))"
)
_WEEK_SPAN = re.compile(r"(本|这|这个|下|下个)\s*(?:周|星期|礼拜)\s*(之内|以内|内|前|之前|以前)")
_PAST_WORDS = ("每", "隔", "上周", "上个", "上星期", "上礼拜", "上月", "去年", "昨天", "前天",
               "每周", "每个",
               "每星期", "每月", "隔周")


@dataclass(frozen=True)
class DateMatch:
    """One date expression found in normalised text."""

    start: int
    end: int
    value: date
    cue: bool  # worded as a deadline (前, 之前, 内, 截止, 最好…)


def _safe_date(y: int, m: int, d: int) -> date | None:
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return None
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_day(today: date, m: int, part_or_day: int) -> date | None:
    """The next (month, day) on or after today; day 0 means the month's last day."""
    for y in (today.year, today.year + 1):
        if not 1 <= m <= 12:
            return None
        d = part_or_day or calendar.monthrange(y, m)[1]
        got = _safe_date(y, m, d)
        if got and got >= today:
            return got
    return None


def _told_day(today: date, m: int, day: int) -> date | None:
    """The next month/day, or None for one that passed within the last six weeks: 厂家来过两次
    （3月20日、4月2日）, said in April, tells of those days, not of next year's."""
    this = _safe_date(today.year, m, day)
    if this and today - timedelta(days=45) <= this < today:
        return None
    return _month_day(today, m, day)


def _add_months(today: date, n: int, day: int) -> date | None:
    y, m = divmod(today.month - 1 + n, 12)
    y, m = today.year + y, m + 1
    last = calendar.monthrange(y, m)[1]
    return _safe_date(y, m, min(day, last) if day else last)


def _add_workdays(today: date, n: int) -> date:
    d = today
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _part(word: str) -> int:
    return _PART_DAY.get(word, 0)


def _within(today: date, m: re.Match[str]) -> date | None:
    raw, text = m.group(1), m.group(0)
    n = {"两三": 3, "三五": 5, "一两": 2, "三四": 4, "半": 0}.get(raw)
    if n is None:
        n = cn_int(raw)
    if n is None or n > 400:
        return None
    if "工作日" in text:
        return _add_workdays(today, n)
    if "小时" in text:
        return today + timedelta(days=(n + 23) // 24 if n else 0)
    if "月" in text:
        return today + timedelta(days=15) if raw == "半" else _add_months(today, n, today.day)
    if any(w in text for w in ("周", "星期", "礼拜")):
        return today + timedelta(days=7 * n if n else 3)
    return today + timedelta(days=n)


def _week(today: date, prefix: str, wd_char: str) -> date | None:
    wd = _WEEKDAY.get(wd_char)
    if wd is None:
        return None
    monday = today - timedelta(days=today.weekday())
    if prefix.startswith("上"):
        return None
    if prefix.startswith("下下"):
        return monday + timedelta(days=14 + wd)
    if prefix.startswith("下"):
        return monday + timedelta(days=7 + wd)
    this_week = monday + timedelta(days=wd)
    if prefix:  # 本周五, 这周五
        return this_week
    return this_week if this_week >= today else this_week + timedelta(days=7)


def find_dates(norm: str, today: date) -> list[DateMatch]:
    """Every date named in normalised text, read against `today`; past dates are left out."""
    norm = norm.replace("元月", "1月")  # same length: positions stay valid
    raw: list[tuple[int, int, date | None]] = []
    raw.extend(holiday_spans(norm, today))
    for m in _FULL.finditer(norm):
        y = int(m.group(1))
        mo = cn_int(m.group(2) or m.group(4) or "")
        d = cn_int(m.group(3) or m.group(5) or "")
        raw.append((m.start(), m.end(), _safe_date(y, mo, d) if mo and d else None))
    for m in _YEAR_WORD.finditer(norm):
        y = today.year + {"今年": 0, "明年": 1, "后年": 2}[m.group(1)]
        mo, d = cn_int(m.group(2)), cn_int(m.group(3))
        raw.append((m.start(), m.end(), _safe_date(y, mo, d) if mo and d else None))
    for m in _MONTH_BEFORE.finditer(norm):
        mo = cn_int(m.group(1))
        raw.append((m.start(), m.end(), _month_day(today, mo, 1) if mo else None))
    for m in _MONTH_DAY.finditer(norm):
        mo = cn_int(m.group(1))
        if mo is None:
            continue
        if m.group(2):
            day = cn_int(m.group(2))
            raw.append((m.start(), m.end(), _told_day(today, mo, day) if day else None))
        else:
            raw.append((m.start(), m.end(), _month_day(today, mo, _part(m.group(3)))))
    for m in _DOTTED.finditer(norm):
        after, before = norm[m.end():m.end() + 3], norm[max(0, m.start() - 8):m.start()]
        if _MEASURED.search(before):
            continue  # pH降到6.5左右: a value measured, not a day
        if _CUE_AFTER.match(after) or re.match(r"\s*[日号]", after) or _CUE_BEFORE.search(before):
            raw.append((m.start(), m.end(), _told_day(today, int(m.group(1)), int(m.group(2)))
                        if int(m.group(2)) else None))
    for m in _REL_MONTH.finditer(norm):
        word = m.group(1)
        n = 2 if word.startswith("下下") else 1 if word.startswith("下") else 0
        day = cn_int(m.group(2)) if m.group(2) else _part(m.group(3))
        got = _add_months(today, n, day or 0) if day is not None else None
        raw.append((m.start(), m.end(), got))
    for m in _BARE_MONTH_END.finditer(norm):
        if norm[m.end():m.end() + 1] == "了":
            continue  # 年底了: it is the end of the year now, not a date to meet
        if m.group(1) in ("年底", "年末"):
            raw.append((m.start(), m.end(), date(today.year, 12, 31)))
        elif m.group(1) == "月中":
            raw.append((m.start(), m.end(),
                        _add_months(today, 0 if today.day <= 15 else 1, 15)))
        elif m.group(1) != "年前":
            raw.append((m.start(), m.end(), _add_months(today, 0, 0)))
    for m in _DAY_ONLY.finditer(norm):
        day = cn_int(m.group(1))
        if day and 1 <= day <= 31:
            got = _add_months(today, 0, day)
            if got and (got < today or got.day != day):
                got = _add_months(today, 1, day)
            raw.append((m.start(), m.end(), got if got and got.day == day else None))
    rel = {"今天": 0, "今日": 0, "今儿": 0, "当天": 0, "今晚": 0, "明天": 1, "明日": 1, "明儿": 1,
           "明早": 1, "明晚": 1, "次日": 1, "第二天": 1, "后天": 2, "大后天": 3}
    for m in _REL_DAY.finditer(norm):
        raw.append((m.start(), m.end(), today + timedelta(days=rel[m.group()])))
    for m in _WITHIN.finditer(norm):
        raw.append((m.start(), m.end(), _within(today, m)))
    for m in _HALF_MONTH.finditer(norm):
        raw.append((m.start(), m.end(), today + timedelta(days=15)))
    for m in _WEEK_SPAN.finditer(norm):
        monday = today - timedelta(days=today.weekday())
        nxt = 7 if m.group(1).startswith("下") else 0
        end = monday + timedelta(days=nxt + (0 if m.group(2).endswith("前") and nxt else 6))
        raw.append((m.start(), m.end(), end))
    for m in _WEEK.finditer(norm):
        raw.append((m.start(), m.end(), _week(today, m.group(1) or "", m.group(2) or m.group(3))))
    raw.extend(named_holidays(norm, today))
    return _resolve(norm, today, raw)


def _resolve(norm: str, today: date, raw: list[tuple[int, int, date | None]]) -> list[DateMatch]:
    raw.sort(key=lambda r: (r[0], -(r[1] - r[0])))
    out: list[DateMatch] = []
    last_end = -1
    for start, end, value in raw:
        if start < last_end:
            continue
        last_end = end
        before = norm[max(0, start - 4):start]
        if value is None or value < today or any(before.endswith(w) for w in _PAST_WORDS):
            continue
        if _PAST_AFTER.match(norm[end:end + 5]):
            continue
        cue = bool(_CUE_AFTER.match(norm[end:end + 6])
                   or _CUE_BEFORE.search(norm[max(0, start - 8):start])
                   or re.search(r"(?:内|之内|以内|前|之前|以前)$", norm[start:end]))
        out.append(DateMatch(start, end, value, cue))
    return out


# 国庆后再来也可以, 5月10日以后都行: the earliest time, not a deadline.
_FROM_ON = re.compile(r"^\s*(?:以后|之后|后)")
# 周末我们都有空, 晚上和周六有空: when the sender is free, not when the service is due (有空的话,
# 有空吗, 明天有空的师傅 ask about someone else's time).
_FREE = re.compile(r"\s*(?:我们?|咱们|俩|两个|一般|基本上?|通常|都|也|才|比较|和[^，。,.\s]{1,3})*"
                   r"(?:有空|有时间|得空|空闲|不上班|休息)(?!的|吗|么|不|没)")


# A season or a holiday (年前, 年底, 春节, 端午前, 节前 …; not a span after one: 春节后一周内).
_SEASON = re.compile(r"(?:过?年|年底|年末|春节|大年初一|端午|中秋|国庆|五一|劳动节|元旦|十一|清明"
                     r"|节)\s*(?:节)?\s*(?:放假)?\s*(?:前|之前|以前)?")
# A season word the ask hangs on: its clause says nothing else (时间：年前, …，春节前), or says what
# is wanted then (年前能来最好, 师傅年前来看看, 端午前要整改完, 中秋前分三期搞完, 五一前出方案).
_WANTED = re.compile(r"能|可以|要|想|请|来|去|到|上门|安排|完成|搞|弄|做|出|分|组织|办|开展|培训|讲"
                     r"|检修|整改|解决|处理|修|看|交货|赶|给|帮|派|最好|就行|都行|联系|对接|方案"
                     # 春节前还有机会吗, 清明前正是关键时候, 年前不弄好就来不及了
                     r"|机会|来得及|来不及|赶得上|关键|有空|有人"
                     r"|前|内|截止|为止")  # 年底前, 春节假期内
# A season word that describes the season: 赶年前的单 (what kind), 春节那几天 (during it), 端午还在
# 赶货 (what goes on then), 年底厂里说…/厂家说年前排不过来 (someone else's word or plan).
_SEASON_TALK = re.compile(r"的|(?:那|这)(?:几天|阵|段时间)|期间|假期|(?:还|正|又|都|一直)在")
_SAID = re.compile(r"说(?:是|过)?\s*$")
_DUE_WORK = re.compile(r"(?:完成|搞定|弄好|整改|解决|修好|处理|做完)")
# Today and a date: the time of an event told (今天早上一开机就跳闸, 今天凌晨死了一批鱼, 客户
# 3月12号退过一次货), when its clause tells something done and asks nothing.
_TODAY_OR_DAY = re.compile(r"今天|今日|今儿|今早|当天|.*(?:月|[日号])")
_EVENT = re.compile(r"了|(?<!不)过(?![来去])|一[\u4e00-\u9fff]{1,3}就|突然")
_ASKED = re.compile(r"能|可以|请|想|派|帮|最好|吗|安排|要|需要|有没有|有人|务必|必须|[?？]")
_CLAUSE_END = re.compile(r"[,，。.!！?？;；\n]")


def _describes(norm: str, d: DateMatch) -> bool:
    """Whether a date found dates an event or describes a season rather than sets a deadline."""
    word = norm[d.start:d.end]
    end = _CLAUSE_END.search(norm, d.end)
    clause = norm[d.end:end.start() if end else len(norm)].strip()
    if _SEASON.fullmatch(word):
        if norm[d.end:d.end + 1].isspace():
            return False  # …能远程看看吗 清明前 叶大伯: a clause of its own in voice input
        said = clause.find("说")
        wanted = _WANTED.search(clause, 0, said if said >= 0 else len(clause))
        if _SAID.search(norm, max(0, d.start - 3), d.start):
            return not _DUE_WORK.search(clause)
        return bool(clause) and (bool(_SEASON_TALK.match(clause)) or not wanted)
    if not d.cue and _TODAY_OR_DAY.fullmatch(word):
        return bool(_EVENT.search(clause)) and not _ASKED.search(clause)
    return False


def find_deadline(norm: str, today: date) -> DateMatch | None:
    """The deadline of a request: the earliest date worded as one, else the first future date
    (a date followed by 以后/之后 says when the visit may start, not when it is due; a season
    word the ask does not hang on, or the day of an event told, is no deadline)."""
    found = [d for d in find_dates(norm, today) if not _FROM_ON.match(norm[d.end:d.end + 3])
             and not (not d.cue and _FREE.match(norm, d.end)) and not _describes(norm, d)]
    cued = [d for d in found if d.cue]
    if cued:  # the tightest of the dates worded as one (年前要发货…明天能过来吗)
        return min(cued, key=lambda d: (d.value, d.start))
    return found[0] if found else None


def parse_deadline(text: str, now: datetime) -> date | None:
    """The deadline a message names (下周三前, 3天内, 月底前, 5月20日前 …), or None."""
    m = find_deadline(normalize(text), now.date())
    return m.value if m else None


_TIME = re.compile(
    r"(凌晨|早上|早晨|上午|中午|午后|下午|傍晚|晚上|今晚|明早|明晚|早|晚)?\s*"
    r"(?:(" + NUM + r")\s*(?:点|时)\s*(半|一刻|三刻|" + NUM + r"\s*分?)?|(\d{1,2})\s*:\s*(\d{2}))"
)
_PERIOD = re.compile(r"凌晨|早上|早晨|上午|中午|午后|下午|傍晚|晚上|今晚|明早|明晚")
_PERIOD_HOUR = {"凌晨": 6, "早上": 9, "早晨": 9, "上午": 9, "明早": 9, "中午": 12, "午后": 14,
                "下午": 14, "傍晚": 17, "晚上": 19, "今晚": 19, "明晚": 19}


def _clock(norm: str) -> tuple[int, int] | None:
    m = _TIME.search(norm)
    if m:
        period = m.group(1) or ""
        if m.group(4):
            h, mi = int(m.group(4)), int(m.group(5))
        else:
            h = cn_int(m.group(2)) or 0
            frac = (m.group(3) or "").rstrip("分").strip()
            mi = {"半": 30, "一刻": 15, "三刻": 45, "": 0}.get(frac, cn_int(frac) or 0)
        if (period in ("下午", "午后", "傍晚", "晚上", "今晚", "明晚",
                       "晚") and h < 12) or (period == "中午" and h < 6):
            h += 12
        if 0 <= h < 24 and 0 <= mi < 60:
            return h, mi
    p = _PERIOD.search(norm)
    if p:
        return _PERIOD_HOUR[p.group()], 0
    return None


def parse_visit_time(text: str, now: datetime) -> datetime | None:
    """When a visit is planned ("5月20日上午", "明天下午3点"), as an aware datetime, or None.

    A day without an hour is 09:00 (上午 09:00, 下午 14:00, 晚上 19:00); an hour without a day is
    today.
    """
    norm = normalize(text)
    dates = find_dates(norm, now.date())
    clock = _clock(norm)
    if not dates and clock is None:
        return None
    day = dates[0].value if dates else now.date()
    h, mi = clock if clock else (9, 0)
    return datetime.combine(day, time(h, mi), tzinfo=now.tzinfo)
