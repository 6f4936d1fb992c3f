"""DingTalk HTTP callback signatures: Base64(HMAC-SHA256(appSecret, ts + "\\n" + appSecret))."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from bot.platforms.stamps import plain_stamp

MAX_SKEW_MS = 60 * 60 * 1000  # a callback more than an hour off is refused
MAX_SIGN = 128  # a real sign is 44 characters of base64
REPLAYED = "timestamp and sign already used (a replay)"
# A valid sign is a function of the timestamp alone, so the timestamp names the pair; the
# store remembers each accepted one (under this kind), so a replay is refused even after a
# restart, and the age check refuses it an hour on.
SIGN_KIND = "dingtalk-sign"


def callback_sign(timestamp: str, secret: str) -> str:
    """The `sign` header DingTalk sends with an HTTP callback made at `timestamp` (ms)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_callback(timestamp: str | None, sign: str | None, secret: str, now: datetime) -> str:
    """Why a callback's headers are not acceptable at `now`, or "" when they are. Malformed
    headers are refused before any crypto."""
    if not timestamp or not sign:
        return "missing timestamp or sign header"
    if not plain_stamp(timestamp):
        return "timestamp is not a number of milliseconds"
    if abs(int(timestamp) - int(now.timestamp() * 1000)) > MAX_SKEW_MS:
        return "timestamp is more than an hour off"
    sign = sign.strip()
    if not sign.isascii() or len(sign) > MAX_SIGN:
        return "wrong sign"
    if not secret or not hmac.compare_digest(callback_sign(timestamp, secret), sign):
        return "wrong sign"
    return ""
