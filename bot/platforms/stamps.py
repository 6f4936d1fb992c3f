"""Untrusted timestamps from the platforms: strict digit checks and safe epoch conversions."""

from __future__ import annotations

import logging
import math
import re
from datetime import datetime
from typing import Any

from bot.model import SHANGHAI

log = logging.getLogger(__name__)

# ASCII digits only: str.isdigit() also takes "²³" and "١٢٣", and int() takes " 1", "+1", "1_0".
_DIGITS = re.compile(r"[0-9]{1,19}")
_STAMP = re.compile(r"[0-9]{1,13}")  # epoch seconds or milliseconds until the year 2286
# A message's own time outside these bounds is a broken or hostile field, not a real time.
EARLIEST = datetime(2000, 1, 1, tzinfo=SHANGHAI)
LATEST = datetime(2100, 1, 1, tzinfo=SHANGHAI)


def plain_stamp(text: str | None) -> bool:
    """Whether a header or query timestamp is 1 to 13 ASCII digits (nothing else)."""
    return text is not None and _STAMP.fullmatch(text) is not None


def plain_int(value: Any) -> int | None:
    """An integer field: an int, or a string of at most 19 ASCII digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def message_time(value: Any, *, millis: bool | None, platform: str, field: str,
                 msg_id: str) -> datetime | None:
    """The time a message says it was sent, from epoch seconds (`millis` False), milliseconds
    (True) or either (None: values past 1e11 are milliseconds). None when absent; None and one
    warning when present but not a number, not finite, or outside EARLIEST..LATEST, so the
    caller uses the receive time instead of failing a genuine message."""
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, float):
        number = value
    elif (found := plain_int(value)) is not None:
        try:
            number = float(found)
        except OverflowError:  # an int past 1e308
            number = math.inf
    if number is None or not math.isfinite(number):
        at = None
    else:
        seconds = number / 1000 if millis or (millis is None and number > 1e11) else number
        try:
            at = datetime.fromtimestamp(seconds, SHANGHAI)
        except (OverflowError, ValueError, OSError):
            at = None
    if at is None or not EARLIEST <= at < LATEST:
        log.warning("%s message %.64s: %s %.40r is not a usable time; using the receive time",
                    platform, msg_id, field, value)
        return None
    return at
