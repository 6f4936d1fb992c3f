"""Reading and checking single cells of a roster row: accounts, phone, region, capacity, status."""

from __future__ import annotations

import re
import unicodedata

from bot.text.normalize import normalize
from bot.text.phones import find_phones
from bot.text.regions import place_region

PLATFORMS = ("local", "dingtalk", "wecom")
PLATFORM_ALIASES = {
    "local": "local", "本地": "local",
    "dingtalk": "dingtalk", "钉钉": "dingtalk", "dd": "dingtalk",
    "wecom": "wecom", "企业微信": "wecom", "企微": "wecom", "wxwork": "wecom",
}
STATUS_ALIASES = {
    "active": "active", "在岗": "active", "正常": "active", "启用": "active", "可接单": "active",
    "paused": "paused", "暂停": "paused", "停用": "paused", "休假": "paused", "暂停接单": "paused",
}
BAD_PHONE = "手机「{cell}」不是有效号码（手机 11 位，座机带区号，如 0571-87654321）"
ONE_PHONE = "手机只能填一个号码（{cell}）"
BAD_REGION = "地区「{cell}」无法识别"


def compact(text: str) -> str:
    """Half-width letters and digits, no spaces: for ids, numbers and keywords."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def parse_account(item: str) -> tuple[str | None, str]:
    """("platform:user", "") or (None, the Chinese reason)."""
    text = unicodedata.normalize("NFKC", item).strip()
    platform, sep, user = text.partition(":")
    platform, user = platform.strip(), user.strip()
    if not sep or not platform or not user or re.search(r"\s", user):
        return None, f"账号格式应为 平台:用户ID（{item}）"
    canonical = PLATFORM_ALIASES.get(platform.lower())
    if canonical is None:
        return None, f"未知平台 {platform}，应为 {'、'.join(PLATFORMS)}"
    return f"{canonical}:{user}", ""


def parse_phone(cell: str) -> tuple[str | None, str]:
    """One mobile (13905720118) or landline (0571-87654321, 0571-87654321转8001) number,
    written with any spaces, dashes or +86; "" for an empty cell; else (None, the reason)."""
    text = normalize(cell, None).strip()
    if not text:
        return "", ""
    found = [p for p in find_phones(text) if p.kind in ("mobile", "landline")]
    if len(found) == 1 and found[0].start == 0 and found[0].end == len(text):
        return found[0].value, ""
    return None, (ONE_PHONE if len(found) > 1 else BAD_PHONE).format(cell=cell)


def parse_region(cell: str) -> tuple[str | None, str]:
    """The region in full (德清 → 浙江省湖州市德清县); "" for an empty cell; else the reason."""
    region = place_region(cell)
    if region is None:
        return None, BAD_REGION.format(cell=cell)
    return region, ""


def parse_capacity(cell: str) -> tuple[int | None, str]:
    text = compact(cell)
    if not text:
        return None, ""
    match = re.fullmatch(r"(\d+)(?:\.0+)?", text)
    if match is None:
        return None, f"容量应为非负整数（{cell}）"
    return int(match.group(1)), ""


def parse_status(cell: str) -> tuple[str | None, str]:
    text = compact(cell).lower()
    if not text:
        return None, ""
    status = STATUS_ALIASES.get(text)
    if status is None:
        return None, f"状态应为 在岗 或 暂停（{cell}）"
    return status, ""
