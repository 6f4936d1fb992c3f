"""DingTalk HTTP callback signatures: Base64(HMAC-SHA256(appSecret, ts + "\\n" + appSecret))."""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
from datetime import datetime

from bot.platforms.stamps import plain_stamp

MAX_SKEW_MS = 60 * 60 * 1000  # a callback more than an hour off is refused
MAX_SIGN = 128  # a real sign is 44 characters of base64
MAX_REMEMBERED = 200_000  # accepted pairs kept for the replay check (see SeenSigns)
REPLAYED = "timestamp and sign already used (a replay)"
TOO_MANY = "too many callbacks within the hour"


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


class SeenSigns:
    """The (timestamp, sign) pairs of accepted callbacks, so each is accepted once.

    A valid sign is a function of the timestamp alone, so the timestamp names the pair. A pair
    is kept while `check_callback` would still accept its timestamp (an hour past it); after
    that the age check refuses it anyway. Only correctly signed callbacks are recorded, so only
    DingTalk (or whoever holds the app secret) can fill this: `MAX_REMEMBERED` pairs an hour is
    far beyond a union bot's traffic, and past it callbacks are refused rather than forgotten
    pairs becoming replayable. Kept in memory: the bot refuses to start twice on one database
    (bot/runlock.py), so one process sees every callback. A restart forgets the pairs: one
    captured before it could be replayed once more within its hour (a durable store would
    close that gap)."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self._keys: set[str] = set()
        self._heap: list[tuple[int, str]] = []  # (timestamp ms, timestamp) oldest first

    def __len__(self) -> int:
        return len(self._keys)

    def claim(self, timestamp: str, now: datetime) -> str:
        """Record the pair of a correctly signed callback; "" the first time, else why not."""
        cutoff = int(now.timestamp() * 1000) - MAX_SKEW_MS
        while self._heap and self._heap[0][0] < cutoff:
            self._keys.discard(heapq.heappop(self._heap)[1])
        if timestamp in self._keys:
            return REPLAYED
        if len(self._keys) >= self.limit:
            return TOO_MANY
        self._keys.add(timestamp)
        heapq.heappush(self._heap, (int(timestamp), timestamp))
        return ""
