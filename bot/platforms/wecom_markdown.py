"""The bot's text made inert for WeCom markdown and text messages; the bot's own @-mentions.

What WeCom renders (no escape character is documented for any of it):
- markdown messages (group robot webhook; 群机器人配置说明, developer.work.weixin.qq.com/
  document/path/91770, as quoted by the guides we could read): headings "# " to "###### ",
  **bold**, [text](url) links, `code`, "> " quotes, <font color="info|comment|warning">, and
  <@userid> mentions; markdown_v2 and the AI bot's stream and response_url replies
  (document/path/101031, "支持常见的markdown格式") add lists, images ![x](url), tables and
  rules, as CommonMark-style renderers do;
- text messages: `<@userid>` in the content mentions too (document/path/99110).

The bot's text is plain and carries what users wrote (order summaries, names, feedback), so
every piece of syntax in it is neutralised to show literally, and only the bot's own mention
tags are appended after that:
- "<" is followed by a zero-width space (U+200B): no tag can start, so no <@all>, <@userid>,
  <font …>, HTML or <http://…> autolink;
- "]" likewise: no [text](url) link, image, or [ref] link/definition;
- "&" likewise: no &lt;-style entity that a renderer could decode into a tag;
- a line that starts with white space or a block marker (# > = - + | ~ or "1.") gets a
  zero-width space in front: no heading (ATX or setext), quote, list, rule, table, fence or
  indented code;
- "*" and "`" become their full-width forms ＊ and ｀: CommonMark ignores an invisible mark
  when deciding whether "*" opens emphasis, so only another character stops the bot's own
  phone masks (138****5678) pairing up into bold; a backslash escape is not documented by
  WeCom and might be shown.
"_" and "~" are left alone: inside a word "_" is inert in CommonMark, WeCom's documented
syntax has neither, and user ids, links and the bot's usage texts (2026-05-01~2026-05-31)
must stay exactly as typed. Zero-width spaces are invisible; cutting a message into pieces
keeps every piece inert (see `split_markdown`).
"""

from __future__ import annotations

import re

from bot.platforms.wecom_payload import split_utf8

ZWSP = "\u200b"
_ZWSP_BYTES = len(ZWSP.encode("utf-8"))
_BREAK_AFTER = re.compile(r"[<\]&]")
_LINE_END = re.compile(r"\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")  # all read as "\n"
_BLOCK_START = re.compile(r"[\s#>=+\-|~]|\d+[.)]")
_INLINE = str.maketrans({"*": "\uff0a", "`": "\uff40"})
_USER_ID = re.compile(r"[A-Za-z0-9_.@-]{1,64}")


def as_markdown(text: str) -> str:
    """`text` (plain bot text, with user text inside) shown literally by WeCom markdown."""
    text = _LINE_END.sub("\n", text).translate(_INLINE)
    text = _BREAK_AFTER.sub(lambda m: m.group() + ZWSP, text)
    return "\n".join(_guard_line(line) for line in text.split("\n"))


def as_text(text: str) -> str:
    """`text` for a WeCom text message: no `<@userid>` mention can come from it."""
    return text.replace("<", "<" + ZWSP)


def split_markdown(content: str, limit: int) -> list[str]:
    """Escaped markdown cut into pieces of at most `limit` UTF-8 bytes, each inert on its
    own: a piece that now starts a line with a block marker gets a zero-width space first."""
    pieces = split_utf8(content, limit - _ZWSP_BYTES)
    return [pieces[0], *(_guard_line(p) for p in pieces[1:])]


def mentionable(user_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The ids that can be @-mentioned: WeCom user ids (letters, digits, _ . @ -), never
    "all" or "@all" (which would notify the whole group)."""
    return tuple(u for u in user_ids
                 if _USER_ID.fullmatch(u) and u.lower() not in ("all", "@all"))


def mention_tags(user_ids: tuple[str, ...]) -> str:
    """Markdown @-mentions of the bot's own choosing (see `mentionable`)."""
    return " ".join(f"<@{u}>" for u in mentionable(user_ids))


def _guard_line(line: str) -> str:
    return ZWSP + line if _BLOCK_START.match(line) else line
