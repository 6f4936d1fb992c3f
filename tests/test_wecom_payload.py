"""WeCom AI-bot payloads → Incoming, reply handles, and splitting by UTF-8 bytes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.model import Attachment, ChatKind
from bot.platforms.wecom_markdown import ZWSP, as_markdown, mention_tags, split_markdown
from bot.platforms.wecom_payload import ReplyHandle, split_utf8, strip_at, to_incoming
from tests.fakes import T0

GROUP = {
    "msgid": "CAIQ16HMjQYY", "aibotid": "AIBOTID", "chatid": "wrkSFfCgAAxx", "chattype": "group",
    "from": {"userid": "zhangsan"}, "response_url": "https://qyapi.example/resp?code=abc",
    "msgtype": "text", "text": {"content": "@匠心点单 点单：冷库制冷效果差，请专家来看看"},
}


def test_group_text_strips_the_at_and_keeps_the_reply_handle() -> None:
    msg = to_incoming(GROUP, T0)
    assert msg is not None
    assert msg.platform == "wecom" and msg.msg_id == "CAIQ16HMjQYY"
    assert msg.chat_id == "wrkSFfCgAAxx" and msg.chat_kind is ChatKind.GROUP
    assert msg.sender_id == "zhangsan" and msg.text == "点单：冷库制冷效果差，请专家来看看"
    handle = ReplyHandle.decode(msg.reply_handle)
    assert handle is not None and handle.msgid == "CAIQ16HMjQYY"
    assert handle.response_url.endswith("code=abc")
    assert handle.expires_at == T0 + timedelta(hours=1)
    assert handle.usable(T0 + timedelta(minutes=59)) and not handle.usable(T0 + timedelta(hours=1))


def test_single_chat_uses_the_user_as_chat_and_keeps_a_leading_at() -> None:
    payload = {**GROUP, "chattype": "single", "text": {"content": "@李工 帮忙看下 #3"}}
    del payload["chatid"]
    msg = to_incoming(payload, T0)
    assert msg is not None and msg.chat_kind is ChatKind.SINGLE
    assert msg.chat_id == "zhangsan" and msg.text == "@李工 帮忙看下 #3"


def test_quote_voice_mixed_and_create_time() -> None:
    quoted = {**GROUP, "text": {"content": "@匠心点单 接单"}, "create_time": 1778032800,
              "quote": {"msgtype": "text", "text": {"content": "已收到点单 #7，正在匹配专家"}}}
    msg = to_incoming(quoted)
    assert msg is not None and msg.quote_text == "已收到点单 #7，正在匹配专家"
    assert msg.sent_at is not None and msg.sent_at.utcoffset() == timedelta(hours=8)
    voice = to_incoming({**GROUP, "msgtype": "voice", "voice": {"content": "查询 5"}})
    assert voice is not None and voice.text == "查询 5"
    mixed = {**GROUP, "msgtype": "mixed", "mixed": {"msg_item": [
        {"msgtype": "text", "text": {"content": "@匠心点单 点单：设备异响"}},
        {"msgtype": "image", "image": {"url": "https://x"}},
        {"msgtype": "text", "text": {"content": "见图"}}]}}
    got = to_incoming(mixed)
    assert got is not None and got.text == "点单：设备异响\n见图"


def test_unusable_payloads_are_none() -> None:
    assert to_incoming({**GROUP, "msgtype": "image", "image": {"url": " "}}) is None
    assert to_incoming({**GROUP, "msgtype": "image", "image": "u"}) is None
    assert to_incoming({**GROUP, "msgtype": "stream", "stream": {"id": "s"}}) is None
    assert to_incoming({**GROUP, "msgtype": "event", "event": {"eventtype": "enter_chat"}}) is None
    assert to_incoming({**GROUP, "text": {"content": "@匠心点单"}}) is None
    assert to_incoming({**GROUP, "text": None}) is None
    assert to_incoming({**GROUP, "from": {}}) is None
    assert to_incoming({k: v for k, v in GROUP.items() if k != "chatid"}) is None
    assert to_incoming({**GROUP, "msgid": 5}) is None
    assert to_incoming(["not", "a", "dict"]) is None


def test_strip_at() -> None:
    assert strip_at("@匠心点单 接单 3") == "接单 3"
    assert strip_at("@Bot\u2005接单 3") == "接单 3"
    assert strip_at("  @Bot  进展 3 已到厂") == "进展 3 已到厂"
    assert strip_at("接单 3 @李工") == "接单 3 @李工"
    assert strip_at("@Bot") == ""


def test_split_utf8_never_cuts_a_character() -> None:
    text = "点单" * 700 + "abc\n" + "焊" * 500  # 4200 + 4 + 1500 bytes
    for limit in (2048, 4096, 100, 7):
        pieces = split_utf8(text, limit)
        assert "".join(pieces) == text
        assert all(0 < len(p.encode("utf-8")) <= limit for p in pieces)
    assert split_utf8("", 2048) == [""]
    assert split_utf8("短", 2048) == ["短"]
    lines = split_utf8("一二三\n" * 300, 2048)
    assert all(p.endswith("\n") for p in lines[:-1])  # cut after a newline when possible


def test_markdown_keeps_order_numbers_from_becoming_headings() -> None:
    md = as_markdown("待接单：\n#3 冷库\n#4 焊接\n> 引用")
    assert all(not line.startswith(("#", ">")) for line in md.split("\n"))
    assert "#3 冷库" in md


def test_markdown_shows_every_piece_of_syntax_literally() -> None:
    cases = {
        "[点我](http://evil)": "[点我]\u200b(http://evil)",
        "![图](http://evil/p.png)": "![图]\u200b(http://evil/p.png)",
        "[a]: http://evil": "[a]\u200b: http://evil",
        "<@all> <@zhangsan>": "<\u200b@all> <\u200b@zhangsan>",
        '<font color="warning">急</font>': '<\u200bfont color="warning">急<\u200b/font>',
        "&lt;@all&gt;": "&\u200blt;@all&\u200bgt;",
        "138****5678 `x`": "138\uff0a\uff0a\uff0a\uff0a5678 \uff40x\uff40",
        "   # 缩进": "\u200b   # 缩进",
        "说明\r===\r\n- 列表\n1. 一": "说明\n\u200b===\n\u200b- 列表\n\u200b1. 一",
        "用户 wu_jing 2026-05-01~2026-05-31 12:00": "用户 wu_jing 2026-05-01~2026-05-31 12:00",
    }
    for text, expected in cases.items():
        assert as_markdown(text) == expected


def test_split_markdown_keeps_every_piece_inert_and_mentions_are_ours_only() -> None:
    cut = split_markdown(as_markdown("甲" * 31 + "# 标题"), 96)  # cut right before "#"
    assert cut == ["甲" * 31, ZWSP + "# 标题"]
    assert all(len(p.encode()) <= 96 for p in cut)
    assert mention_tags(("e1", "all", "@all", "x>y", "a b", "li.si-2@corp")) == (
        "<@e1> <@li.si-2@corp>")


def test_pictures_files_and_untranscribed_voice_come_as_attachments() -> None:
    single = {**GROUP, "chattype": "single"}
    del single["chatid"]
    picture = to_incoming({**single, "msgtype": "image",
                           "image": {"url": "https://cos/x", "aeskey": "k"}})
    assert picture is not None and picture.text == ""
    assert picture.attachments == (Attachment("image", "", "https://cos/x", ""),)
    document = to_incoming({**single, "msgtype": "file", "file": {"url": "https://cos/f"}})
    assert document is not None and [a.kind for a in document.attachments] == ["file"]
    mute = to_incoming({**single, "msgtype": "voice", "voice": {"content": " "}})
    assert mute is not None and mute.attachments == (Attachment("voice"),)
    spoken = to_incoming({**single, "msgtype": "voice", "voice": {"content": "查询 5"}})
    assert spoken is not None and spoken.attachments == ()
    mixed = to_incoming({**GROUP, "msgtype": "mixed", "mixed": {"msg_item": [
        {"msgtype": "text", "text": {"content": "@匠心点单 见图"}},
        {"msgtype": "image", "image": {"url": "https://cos/1"}},
        {"msgtype": "image", "image": {"url": 7}}]}})
    assert mixed is not None and mixed.text == "见图"
    assert [a.ref for a in mixed.attachments] == ["https://cos/1"]


def test_a_reply_too_long_for_one_message_says_it_was_cut(
        caplog: pytest.LogCaptureFixture) -> None:
    from bot.platforms.wecom_send import CUT, RESPONSE_LIMIT, response_body

    body = response_body("焊接变形" * 3000, ())
    content = body["markdown"]["content"]
    assert content.endswith(CUT) and len(content.encode("utf-8")) <= RESPONSE_LIMIT
    assert "cut to one message" in caplog.text
    assert not response_body("短消息", ())["markdown"]["content"].endswith(CUT)
