"""Reading untrusted JSON safely: UTF-8 only, bounded depth, no lone surrogates, clear 4xx."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# Deeper than any payload the platforms or our clients send; deep enough to refuse early
# what would otherwise exhaust the recursion limit later (logging, re-encoding).
MAX_DEPTH = 32


class BadRequest(Exception):
    """A request the bot refuses with `status` (4xx) and a short English `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes | str, strict: bool = True) -> Any:
    """The JSON value in `data`, or BadRequest(400) when it is not valid, strict JSON
    (UTF-8, no NaN/Infinity), is nested deeper than MAX_DEPTH, or holds a string that is
    not valid Unicode (a lone surrogate such as "\\ud800"). With `strict=False`, raw
    control characters inside strings are accepted (as `json.loads(strict=False)` does);
    everything else is checked the same."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_reject_constant, strict=strict)
    except UnicodeDecodeError:
        raise BadRequest(400, "body must be UTF-8") from None
    except RecursionError:
        raise BadRequest(400, "JSON nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, NaN, integers past the digit limit
        raise BadRequest(400, f"invalid JSON: {str(exc)[:80]}") from None
    check_value(value)
    return value


def check_value(value: Any) -> None:
    """BadRequest(400) unless `value` nests at most MAX_DEPTH deep and every string in it
    (keys included) encodes as UTF-8."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise BadRequest(400, "JSON nested too deeply")
            if isinstance(item, dict):
                for key, sub in item.items():
                    _check_text(key)
                    stack.append((sub, depth + 1))
            else:
                stack.extend((sub, depth + 1) for sub in item)


def _check_text(s: str) -> None:
    if not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(400, "string is not valid Unicode") from None


def require_json_type(request: web.Request) -> None:
    """BadRequest(415) unless the body is declared `application/json` in UTF-8 (no charset,
    or utf-8): a browser cannot send that cross-site without a CORS preflight."""
    if request.content_type != "application/json":
        raise BadRequest(415, "Content-Type must be application/json")
    charset = request.charset
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise BadRequest(415, "JSON must be UTF-8")


async def read_json(request: web.Request, *, json_type: bool = True) -> Any:
    """The request's JSON body (see `parse_json`); with `json_type`, the Content-Type must
    say application/json (see `require_json_type`)."""
    if json_type:
        require_json_type(request)
    return parse_json(await request.read())
