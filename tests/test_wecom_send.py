"""The WeCom sender against the double: byte splits, webhook error codes, response_url rules."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.model import FrozenClock, Outgoing
from bot.platforms.base import SendError
from bot.platforms.wecom_send import ResponseUrlSpent, WeComHttp
from tests.doubles_wecom import GROUP_KEY, Rig, start_rig, until
from tests.fakes import add_expert


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_rig(tmp_path, clock)
    yield r
    await r.close()


def queue(rig: Rig, text: str, mentions: tuple[str, ...] = (), chat: str = "wrgroup1") -> int:
    return rig.app.store.enqueue(Outgoing("wecom", chat, text, mentions))


async def test_long_posts_are_split_by_utf8_bytes(rig: Rig) -> None:
    queue(rig, "月度统计：\n" + "焊接技术服务一次，满意。\n" * 400)  # ~14 KB
    queue(rig, "提醒：" + "请尽快接单" * 300, mentions=("e1", "e2"))  # ~4.5 KB
    assert await rig.app.outbox.drain() == 2
    md = [p for p in rig.double.sent if p.body["msgtype"] == "markdown"]
    text = [p for p in rig.double.sent if p.body["msgtype"] == "text"]
    assert len(md) >= 4 and all(len(p.content.encode()) <= 4096 for p in md)
    assert len(text) >= 3 and all(len(p.content.encode()) <= 2048 for p in text)
    assert text[0].body["text"]["mentioned_list"] == ["e1", "e2"]
    assert all("mentioned_list" not in p.body["text"] for p in text[1:])
    assert "".join(p.content for p in text) == "提醒：" + "请尽快接单" * 300
    assert rig.double.violations == []


async def test_rate_limit_45009_is_retried_later(rig: Rig, clock: FrozenClock) -> None:
    http = WeComHttp(rig.double.base)
    try:
        for i in range(20):
            await http.webhook(GROUP_KEY, "wrgroup1", f"第{i}条", ())
        with pytest.raises(SendError) as err:
            await http.webhook(GROUP_KEY, "wrgroup1", "第21条", ())
        assert not err.value.permanent and err.value.retry_after == 60
        clock.advance(seconds=61)
        assert (await http.webhook(GROUP_KEY, "wrgroup1", "第21条", ())).startswith("webhook:")
    finally:
        await http.close()


async def test_too_long_40058_is_split_smaller_and_retried(rig: Rig) -> None:
    rig.double.markdown_limit = 3000  # WeCom counts more strictly than we do
    queue(rig, "说明：" + "冷库制冷效果差" * 250)  # ~5.2 KB
    assert await rig.app.outbox.drain() == 1
    refused = [p for p in rig.double.posts if p.errcode == 40058]
    assert refused and len(rig.double.sent) >= 3
    assert "".join(p.content for p in rig.double.sent) == "说明：" + "冷库制冷效果差" * 250


async def test_bad_key_93000_fails_for_good_without_logging_the_key(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.platform.settings.webhooks["wrgroup1"] = "wrong-key-123456"
    item_id = queue(rig, "提醒：#1 待接单")
    with caplog.at_level(logging.INFO):
        await rig.app.outbox.drain()
    item = rig.app.store.outbox_item(item_id)
    assert item is not None and item.state == "failed"
    assert [p.errcode for p in rig.double.posts] == [93000]
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "wrong-key-123456" not in ours and "93000" in ours


async def test_5xx_is_retried_and_split_posts_are_not_repeated(rig: Rig,
                                                               clock: FrozenClock) -> None:
    item_id = queue(rig, "甲" * 1300 + "乙" * 1300)  # two markdown pieces
    rig.double.fail_next = [503]
    await rig.app.outbox.drain()
    item = rig.app.store.outbox_item(item_id)
    assert item is not None and item.state == "pending" and rig.double.sent == []
    clock.advance(seconds=5)
    await rig.app.outbox.drain()
    assert len(rig.double.sent) == 2
    # The second piece of the next one fails once: the retry sends only that piece.
    second = queue(rig, "丙" * 1300 + "丁" * 1300)
    rig.double.fail_next = [0, 500]
    clock.advance(seconds=1)
    await rig.app.outbox.drain()
    clock.advance(seconds=10)
    await rig.app.outbox.drain()
    item = rig.app.store.outbox_item(second)
    assert item is not None and item.state == "sent"
    assert [p.content[0] for p in rig.double.sent] == ["甲", "乙", "丙", "丁"]


async def test_response_url_rules_single_use_markdown_only_in_groups(rig: Rig,
                                                                    clock: FrozenClock) -> None:
    d = rig.double
    http = WeComHttp(d.base)
    try:
        url = d.mint_response_url("group", "m1")
        session = http.session()
        async with session.post(url, json={"msgtype": "text", "text": {"content": "x"}}) as r:
            assert (await r.json())["errcode"] == 40008
        await http.respond(url, "接单成功 #1", ())
        with pytest.raises(ResponseUrlSpent):
            await http.respond(url, "又一条 #1", ())
        old = d.mint_response_url("single", "m2")
        clock.advance(minutes=61)
        with pytest.raises(ResponseUrlSpent):
            await http.respond(old, "过期 #2", ())
    finally:
        await http.close()
    assert [p.errcode for p in d.posts] == [40008, 0, 40029, 40029]


# -- user text is inert in every WeCom message -------------------------------------------------

HOSTILE = ("[点我](http://evil.example) <@all> 请看 ![图](http://evil.example/p.png)\n"
           "# 标题\n<font color=\"warning\">紧急</font>\n> 引用\n**粗体** `代码` [a]: http://x\n"
           "   ## 缩进\n说明\n===\n&lt;@all&gt; <@zhangsan> 138****5678")
ORDER = "点单：不锈钢薄板焊接变形严重，想请焊接师傅指导 " + HOSTILE.replace("\n", " ")


def inert(content: str, own_tags: str = "") -> str:
    """`content` without the bot's own trailing mention tags, checked to carry no markdown
    link, tag, mention, entity, heading, quote, list, emphasis or code; returned as shown."""
    if own_tags:
        assert content.endswith("\n" + own_tags), content[-80:]
        content = content[:-len(own_tags) - 1]
    assert not re.search(r"\]\s*[(\[:]", content), content  # links, images, references
    assert not re.search(r"<[A-Za-z@/!?]", content), content  # tags, mentions, autolinks
    assert not re.search(r"&#?\w+;", content), content  # entities
    for line in content.split("\n"):
        assert not re.match(r" {0,3}([#>]|=+ *$|-+ *$|[-+*] |\d+[.)] )", line), line
    assert "*" not in content and "`" not in content
    return content.replace("\u200b", "").replace("\uff0a", "*").replace("\uff40", "`")


async def test_webhook_markdown_and_text_show_user_text_literally(rig: Rig) -> None:
    queue(rig, "提醒：" + HOSTILE)  # no mentions: markdown
    queue(rig, "提醒：" + HOSTILE, mentions=("e1", "all", "x>y"))  # mentions: text
    assert await rig.app.outbox.drain() == 2
    markdown, text = rig.double.sent
    assert markdown.body["msgtype"] == "markdown"
    assert inert(markdown.content) == "提醒：" + HOSTILE
    assert text.body["msgtype"] == "text" and text.body["text"]["mentioned_list"] == ["e1"]
    assert not re.search(r"<[A-Za-z@/]", text.content)  # text content may also hold <@id>
    assert text.content.replace("\u200b", "") == "提醒：" + HOSTILE


async def test_long_markdown_pieces_are_each_inert(rig: Rig) -> None:
    queue(rig, "甲" * 1364 + "a# 标题 <@all>")  # the cut falls right before the "#"
    assert await rig.app.outbox.drain() == 1
    pieces = [p.content for p in rig.double.sent]
    assert len(pieces) == 2 and all(inert(p) for p in pieces)
    assert pieces[1].startswith("\u200b#")


async def test_response_url_reply_shows_user_text_literally_and_keeps_our_mention(
        tmp_path: Path, clock: FrozenClock) -> None:
    r = await start_rig(tmp_path, clock, webhooks={})
    try:
        add_expert(r.app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="wecom")
        await r.double.deliver(r.double.message(ORDER, chatid="wrnokey"))
        await r.settle()
        [reply] = r.double.sent
        assert reply.via == "response_url" and reply.body["msgtype"] == "markdown"
        assert "已收到点单 #1" in inert(reply.content, own_tags="<@e1>")
    finally:
        await r.close()


async def test_long_connection_respond_and_send_show_user_text_literally(
        tmp_path: Path, clock: FrozenClock) -> None:
    r = await start_rig(tmp_path, clock, mode="websocket", webhooks={})
    try:
        assert r.platform.ws is not None
        add_expert(r.app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="wecom")
        await r.platform.start()
        await until(r.platform.ws.connected.is_set)
        await r.double.push(r.double.message(ORDER, userid="wu"))
        await until(lambda: r.app.store.get_order(1) is not None)
        await r.settle()
        queue(r, "提醒：" + HOSTILE)  # proactive: aibot_send_msg
        await r.app.outbox.drain()
        respond, send = r.double.sent
        assert respond.via == "respond" and send.via == "send_msg"
        assert "已收到点单 #1" in inert(respond.content, own_tags="<@e1>")
        assert inert(send.content) == "提醒：" + HOSTILE
    finally:
        await r.close()
