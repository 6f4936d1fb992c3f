"""The tally in words (统计): for /统计, the monthly post and `diandan report`."""

from __future__ import annotations

from typing import Any

from bot.charts import legend
from bot.periods import Period

LINES = (
    ("requests", "收到需求", "件"), ("claimed", "已认领", "件"), ("completed", "已办结", "件"),
    ("solved", "解决难题", "个"), ("cancelled", "撤销", "件"), ("sessions", "服务场次", "场"),
    ("experts", "参与专家", "人"), ("person_times", "服务人次", "人次"),
    ("hours", "志愿服务时长", "小时"), ("suggestions", "合理化建议", "条"),
    ("beneficiaries", "受益职工", "人次"),
)


def _num(v: float) -> str:
    return f"{v:g}"


def _change(now: float, before: float | None) -> str:
    if before is None or now == before:
        return ""
    diff = now - before
    return f"（较上期{'+' if diff > 0 else ''}{_num(round(diff, 2))}）"


def tally_text(t: dict[str, Any], period: Period, scope_label: str = "",
               previous: dict[str, Any] | None = None, *, chart: bool = False) -> str:
    """The tally of one period as a chat message, with change against the previous one;
    with `chart`, ending in the legend of the chart image sent with it."""
    scope = f"（{scope_label}）" if scope_label else ""
    head = f"【统计】{period.label} 劳模工匠志愿服务{scope}"
    lines = [head]
    for key, word, unit in LINES:
        before = previous[key] if previous else None
        lines.append(f"{word} {_num(t[key])} {unit}{_change(t[key], before)}")
    if t["satisfaction"] is None:
        lines.append("满意率 暂无评价")
    else:
        lines.append(f"满意率 {t['satisfaction'] * 100:.1f}%（{t['rated']} 件评价）")
    cats = [f"{k} {v['requests']}/{v['completed']}" for k, v in t["by_category"].items()][:8]
    if cats:
        lines.append("分类（收到/办结）：" + "，".join(cats))
    roll = t["honour_roll"][:5]
    if roll:
        lines.append("光荣榜：" + "，".join(
            f"{i}. {p['name']} {p['sessions']} 场" for i, p in enumerate(roll, 1)))
    if chart:
        this_word, before_word = period_words(period)
        lines.append(legend(this_word, before_word if previous is not None else None))
    return "\n".join(lines)


def period_words(period: Period) -> tuple[str, str]:
    """How a tally names its period and the one before: 本月/上月 for a month, else 本期/上期."""
    start, end = period.start, period.end
    monthly = start.day == end.day == 1 and 28 <= (end - start).days <= 31
    return ("本月", "上月") if monthly else ("本期", "上期")
