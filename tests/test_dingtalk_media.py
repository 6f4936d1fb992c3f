"""DingTalk pictures and files against the double: what users send is downloaded and kept with
its order (never met with silence), charts reach groups as pictures, and an order's picture
reaches the expert who claimed it 1:1."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.charts import image_extra
from bot.model import Outgoing
from bot.platforms import dingtalk_media
from bot.platforms.dingtalk import DingTalkPlatform
from storage.files import media_file
from tests.doubles_dingtalk import DingTalkDouble, dingtalk_app
from tests.fakes import FrozenClock, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
GROUP = "cidGroupDeqing01"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
JPEG = b"\xff\xd8\xff\xe0" + bytes(300)
PDF = b"%PDF-1.4\n" + b"x" * 500


@pytest.fixture
async def bot(tmp_path: Path, clock: FrozenClock,
              double: DingTalkDouble) -> AsyncIterator[tuple[App, DingTalkPlatform]]:
    app, platform = dingtalk_app(tmp_path, clock, double)
    add_expert(app, "staff-welder", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="dingtalk")
    yield app, platform
    await platform.sender.close()
    app.store.db.close()


def _kept(app: App, relative: str) -> bytes:
    path = media_file(app.config.storage.path, relative)
    assert path is not None, relative
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return path.read_bytes()


async def test_a_picture_after_an_order_is_downloaded_and_attached(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    assert await platform.receive(double.message(ORDER)) is not None
    code = double.media.add_file(JPEG)
    picture = double.media.message("picture", {"downloadCode": code,
                                               "pictureDownloadCode": "p-" + code[:8]})
    handled = await platform.receive(picture)
    assert handled is not None and not handled.duplicate
    [kept] = app.store.attachments(1)
    assert kept.attachment.kind == "image" and kept.attachment.ref == code
    assert kept.attachment.path.endswith(".jpg") and _kept(app, kept.attachment.path) == JPEG
    await app.outbox.drain()
    assert any("已把图片附在 #1" in t for t in double.texts())


async def test_rich_text_with_words_and_pictures_opens_an_order_with_them(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    first, second = double.media.add_file(PNG), double.media.add_file(JPEG)
    rich = double.media.message("richText", {"richText": [
        {"text": " " + ORDER}, {"downloadCode": first, "type": "picture"},
        {"text": "见图"}, {"downloadCode": second, "type": "picture"}]})
    assert await platform.receive(rich) is not None
    order = app.store.get_order(1)
    assert order is not None and "不锈钢薄板" in order.text
    assert [_kept(app, a.attachment.path) for a in app.store.attachments(1)] == [PNG, JPEG]


async def test_files_voice_and_video_in_a_one_to_one_chat_are_never_met_with_silence(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    one: dict[str, Any] = {"group": False, "conversation": "cidSingleWu", "sender": "staff-wu"}
    assert await platform.receive(double.message("点单：" + ORDER[3:], **one)) is not None
    code = double.media.add_file(PDF)
    await platform.receive(double.media.message(
        "file", {"downloadCode": code, "fileName": "焊接工艺.pdf", "spaceId": "9", "fileId": "8"},
        **one))
    [kept] = app.store.attachments(1)
    assert kept.attachment.name == "焊接工艺.pdf" and _kept(app, kept.attachment.path) == PDF
    voice = double.media.add_file(b"#!AMR\n" + bytes(64))
    await platform.receive(double.media.message("audio", {"downloadCode": voice,
                                                          "duration": 3000}, **one))
    video = double.media.add_file(b"\x00\x00\x00\x18ftypmp42" + bytes(64))
    await platform.receive(double.media.message("video", {"downloadCode": video,
                                                          "duration": 5, "videoType": "mp4"},
                                                **one))
    kinds = [a.attachment.kind for a in app.store.attachments(1)]
    assert kinds == ["file", "voice", "video"]
    assert [a.attachment.path.rsplit(".", 1)[-1] for a in app.store.attachments(1)] == [
        "pdf", "amr", "mp4"]
    await app.outbox.drain()
    replies = [d.text for d in double.sent if d.conversation == "cidSingleWu"]
    assert sum("已把" in t and "附在 #1" in t for t in replies) == 3


async def test_a_picture_that_cannot_be_downloaded_keeps_its_code_and_still_gets_an_answer(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    app, platform = bot
    monkeypatch.setattr(dingtalk_media, "MAX_BYTES", 100)  # the 20 MB cap, made small
    big = double.media.add_file(JPEG)
    await platform.receive(double.media.message("picture", {"downloadCode": big}))
    await platform.receive(double.media.message("picture", {"downloadCode": "expired-code"}))
    await app.outbox.drain()
    assert sum("收到图片" in t for t in double.texts()) == 2  # a hint each, no order yet
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("larger than 100 bytes" in w for w in warnings)
    assert any("invalidParameter.downloadCode" in w for w in warnings)
    assert "Traceback" not in caplog.text


async def test_a_chart_reaches_the_group_as_an_uploaded_picture_after_its_text(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, _platform = bot
    double.conversations.add(GROUP)
    app.store.enqueue(Outgoing("dingtalk", GROUP, "2026年5月 服务统计", extra=image_extra(
        PNG, "tally.png")))
    assert await app.outbox.drain() == 1
    text, picture = double.sent
    assert text.via == "group" and "2026年5月" in text.text and "iVBOR" not in text.text
    assert picture.via == "group" and picture.kind == "sampleImageMsg"
    upload = double.media.uploads[picture.media]
    assert upload.type == "image" and upload.data == PNG and upload.name == "tally.png"


async def test_a_failed_upload_is_retried_and_nothing_is_sent_twice(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble, clock: FrozenClock) -> None:
    app, _platform = bot
    double.conversations.add(GROUP)
    double.fail("upload", 500, {"errcode": -1, "errmsg": "系统繁忙"})
    app.store.enqueue(Outgoing("dingtalk", GROUP, "统计", extra=image_extra(PNG, "t.png")))
    assert await app.outbox.drain() == 0 and double.sent == []
    clock.advance(minutes=5)
    assert await app.outbox.drain() == 1
    assert [d.kind for d in double.sent] == ["sampleText", "sampleImageMsg"]


async def test_the_claiming_expert_gets_the_orders_picture_one_to_one(
        bot: tuple[App, DingTalkPlatform], double: DingTalkDouble) -> None:
    app, platform = bot
    await platform.receive(double.message(ORDER))
    await platform.receive(double.media.message("picture",
                                                {"downloadCode": double.media.add_file(PNG)}))
    await platform.receive(double.message("接单 1", sender="staff-welder", nick="沈国平"))
    await app.outbox.drain()
    note = next(d for d in double.sent if "#1 的附件" in d.text)
    picture = next(d for d in double.sent if d.kind == "sampleImageMsg")
    assert note.via == picture.via == "oto" and picture.users == ("staff-welder",)
    assert double.sent.index(note) < double.sent.index(picture)  # the text first
    assert double.media.uploads[picture.media].data == PNG
    assert not [d for d in double.sent if d.via == "group" and d.kind == "sampleImageMsg"]


def test_an_upload_dingtalk_calls_invalid_is_not_retried() -> None:
    from bot.platforms.dingtalk_api import api_error

    assert api_error("/media/upload", 200, {"errcode": 40004, "errmsg": "x"}).permanent
    assert api_error("/media/upload", 200, {"errcode": 40006}).permanent
    assert not api_error("/media/upload", 200, {"errcode": 40014}).permanent  # token: retry
    assert not api_error("/media/upload", 200, {"errcode": -1}).permanent  # system busy
