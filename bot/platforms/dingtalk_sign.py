"""DingTalk HTTP callback signatures: Base64(HMAC-SHA256(appSecret, ts + "\\n" + appSecret))."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

MAX_SKEW_MS = 60 * 60 * 1000  # a callback more than an hour off is refused


def callback_sign(timestamp: str, secret: str) -> str:
    """The `sign` header DingTalk sends with an HTTP callback made at `timestamp` (ms)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_callback(timestamp: str | None, sign: str | None, secret: str, now: datetime) -> str:
    """Why a callback's headers are not acceptable at `now`, or "" when they are."""
    if not timestamp or not sign:
        return "missing timestamp or sign header"
    if not timestamp.isdigit():
        return "timestamp is not a number of milliseconds"
    if abs(int(timestamp) - int(now.timestamp() * 1000)) > MAX_SKEW_MS:
        return "timestamp is more than an hour off"
    if not secret or not hmac.compare_digest(callback_sign(timestamp, secret), sign.strip()):
        return "wrong sign"
    return ""
