"""WeCom pictures, files and voice both ways: downloaded, decrypted and kept with the order
(URL callback: the EncodingAESKey; long connection: each url's aeskey), never silence; charts
and forwarded attachments uploaded in chunks over the long connection and sent as images."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.charts import image_extra, tally_chart_png
from bot.model import Button, FrozenClock, Outgoing
from bot.periods import month
from bot.platforms import wecom_media
from bot.platforms.wecom_upload import upload
from storage.files import media_file
from storage.tallies import tally
from tests.doubles_wecom import Rig, start_linked, until
from tests.doubles_wecom_media import encrypt_media
from tests.doubles_wecom_messages import PNG
from tests.fakes import add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
JPG = b"\xff\xd8\xff\xe0" + bytes(range(200)) * 3


@pytest.fixture
async def linked(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_linked(tmp_path, clock, ("e1",))
    yield r
    await r.close()


def kept(rig: Rig, no: int = 1) -> list[bytes]:
    """The kept copies of an order's attachments."""
    out = []
    for a in rig.app.store.attachments(no):
        path = media_file(rig.app.config.storage.path, a.attachment.path)
        assert path is not None, a
        out.append(path.read_bytes())
    return out


# -- in: URL callback ----------------------------------------------------------------------------


async def test_a_picture_after_a_1to1_order_is_decrypted_and_attached(rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.message(ORDER, chattype="single", userid="wu"))
    await rig.settle()
    await d.deliver(d.picture(JPG, userid="wu"))
    await rig.settle()
    assert kept(rig) == [JPG]  # decrypted with the callback's EncodingAESKey
    [stored] = rig.app.store.attachments(1)
    assert stored.attachment.kind == "image" and stored.attachment.ref.startswith(d.base)
    assert any("已把图片附在 #1" in p.content for p in d.sent)


async def test_a_group_order_with_pictures_keeps_words_and_pictures(rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.mixed(ORDER, [PNG, JPG], userid="wu"))
    await rig.settle()
    order = rig.app.store.get_order(1)
    assert order is not None and "不锈钢薄板" in order.text
    assert kept(rig) == [PNG, JPG]


async def test_a_file_keeps_its_name_and_voice_gets_its_transcript_or_a_hint(rig: Rig) -> None:
    d = rig.double
    await d.deliver(d.message(ORDER, chattype="single", userid="wu"))
    await rig.settle()
    pdf = b"%PDF-1.4\n" + b"x" * 3000
    await d.deliver(d.document(pdf, "焊缝图纸.pdf", userid="wu"))
    await d.deliver(d.voice("查询 1", userid="wu"))
    await d.deliver(d.voice("", userid="li"))  # untranscribed, from someone with no order
    await rig.settle()
    [stored] = rig.app.store.attachments(1)
    assert stored.attachment.name == "焊缝图纸.pdf" and kept(rig) == [pdf]
    texts = [p.content for p in d.sent]
    assert any("#1" in t and "待接单" in t for t in texts)  # the transcript was a lookup
    assert any("收到语音" in t for t in texts)  # no transcript: a hint, not silence


async def test_an_expired_or_refused_download_keeps_the_reference_and_answers(
        rig: Rig, clock: FrozenClock, caplog: pytest.LogCaptureFixture) -> None:
    d = rig.double
    await d.deliver(d.message(ORDER, chattype="single", userid="wu"))
    await rig.settle()
    late = d.picture(userid="wu")
    clock.advance(minutes=6)  # the url lived five minutes
    await d.deliver(late)
    await rig.settle()
    [stored] = rig.app.store.attachments(1)
    assert stored.attachment.path == "" and stored.attachment.ref.startswith(d.base)
    assert any("已把图片附在 #1" in p.content for p in d.sent)
    warnings = [r.getMessage() for r in caplog.records
                if r.levelno == logging.WARNING and r.name.startswith("bot.platforms")]
    assert len(warnings) == 1 and "was not kept (HTTP 403)" in warnings[0]
    assert d.base not in caplog.text  # no download url (with its signature) in the log


async def test_an_oversized_file_is_not_kept(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wecom_media, "MAX_BYTES", 1000)
    d = rig.double
    await d.deliver(d.document(b"%PDF" + b"x" * 5000, "大.pdf", userid="wu"))
    await rig.settle()
    assert any("收到文件" in p.content for p in d.sent)  # the hint, no order to join
    assert not list((Path(rig.app.config.storage.path).parent / "media").glob("*"))


# -- in: long connection -------------------------------------------------------------------------


async def test_long_connection_pictures_are_decrypted_with_their_own_key(linked: Rig) -> None:
    d = linked.double
    payload = d.mixed(ORDER, [JPG], userid="wu")
    assert len(payload["mixed"]["msg_item"][1]["image"]["aeskey"]) == 43  # base64, no "="
    await d.push(payload)
    await until(lambda: linked.app.store.get_order(1) is not None, "the order")
    await linked.settle()
    assert kept(linked) == [JPG]


# -- out: long connection ------------------------------------------------------------------------


async def test_the_monthly_chart_is_uploaded_and_sent_after_its_text_and_card(
        linked: Rig) -> None:
    d = linked.double
    await d.push(d.message("你好", userid="wu", msgid="hello"))  # the bot is in the group
    await until(lambda: linked.app.store.seen("wecom", "hello") is not None, "the greeting")
    await linked.settle()
    png = tally_chart_png(*_tallies(linked))
    linked.app.store.enqueue(Outgoing("wecom", "wrgroup1", "2026年4月 服务统计：点单 3 …",
                                      extra=image_extra(png, "tally-2026-04.png"),
                                      buttons=(Button("待接单", "待接单"),)))
    earlier = len(d.sent)
    await linked.settle()
    kinds = [p.body["msgtype"] for p in d.sent[earlier:]]
    assert kinds == ["template_card", "image"]  # a short text: the card carries it
    [chart] = d.sent_media()
    assert (chart.kind, chart.filename, chart.data) == ("image", "tally-2026-04.png", png)
    assert Image.open(io.BytesIO(chart.data)).format == "PNG"
    assert d.sent[-1].body["image"]["media_id"] in d.media


def _tallies(rig: Rig) -> tuple[dict[str, Any], dict[str, Any]]:
    period = month(2026, 4)
    now = tally(rig.app.store.db, period.start, period.end)
    before = tally(rig.app.store.db, period.previous().start, period.previous().end)
    return now, before


async def test_an_attachment_is_forwarded_to_the_expert_who_claims(linked: Rig) -> None:
    d = linked.double
    await d.push(d.mixed(ORDER, [JPG], userid="wu"))
    await until(lambda: linked.app.store.get_order(1) is not None, "the order")
    await linked.settle()
    await d.push(d.message("你好", chattype="single", userid="e1"))  # e1 talks to the bot
    await d.push(d.message("接单 1", userid="e1"))
    await until(lambda: getattr(linked.app.store.get_order(1), "lead", None) == "e1", "claim")
    await linked.settle()
    to_e1 = [p for p in d.sent if p.target == "e1"]
    assert any("的附件" in p.content for p in to_e1)
    [picture] = [p for p in to_e1 if p.body["msgtype"] == "image"]
    assert d.media[picture.body["image"]["media_id"]].data == JPG


async def test_a_large_upload_goes_in_512_kb_chunks_from_index_0(linked: Rig) -> None:
    conn = linked.platform.ws
    assert conn is not None
    d = linked.double
    data = PNG + bytes(1_200_000)
    media_id = await upload(conn, data, "image", "big.png")
    assert d.media[media_id].data == data
    chunks = [b for cmd, b, _ in d.upload_frames if cmd == "aibot_upload_media_chunk"]
    assert [c["chunk_index"] for c in chunks] == [0, 1, 2]
    init = d.upload_frames[0][1]
    assert (init["total_size"], init["total_chunks"]) == (len(data), 3)


async def test_the_double_refuses_what_wecom_refuses(linked: Rig) -> None:
    conn = linked.platform.ws
    assert conn is not None
    d = linked.double
    d.ws_chats.add("e1")
    send = "aibot_send_msg"
    by_url = {"chatid": "e1", "msgtype": "image", "image": {"url": "https://x/y.png"}}
    unknown = {"chatid": "e1", "msgtype": "image", "image": {"media_id": "nope"}}
    assert (await conn.request(send, by_url))["errcode"] == 40058
    assert (await conn.request(send, unknown))["errcode"] == 40007
    bad_init = {"type": "image", "filename": "a.png", "total_size": 11 * 1024 * 1024,
                "total_chunks": 22, "md5": "0"}
    assert (await conn.request("aibot_upload_media_init", bad_init))["errcode"] != 0


# -- out: URL callback ---------------------------------------------------------------------------


async def test_callback_mode_forwards_the_attachment_as_text_alone(rig: Rig) -> None:
    d = rig.double
    add_expert(rig.app, "e1", "沈国平", ("焊接", "焊接变形", "不锈钢"), platform="wecom")
    await d.deliver(d.mixed(ORDER, [JPG], userid="wu"))
    await rig.settle()
    await d.deliver(d.message("接单 1", userid="e1"))
    await rig.settle()
    assert rig.app.store.get_order(1) is not None
    assert d.sent_media() == [] and d.upload_frames == []  # no upload without the connection


# -- the pieces ----------------------------------------------------------------------------------


def test_decrypt_as_the_sdks_do_and_refuse_a_wrong_key() -> None:
    key = bytes(range(32))
    aeskey = base64.b64encode(key).decode().rstrip("=")  # WeCom may leave out the "="
    assert wecom_media.media_key(aeskey) == key == wecom_media.media_key(aeskey + "=")
    assert wecom_media.media_key("c2hvcnQ") is None  # not 32 bytes
    for size in (0, 1, 31, 32, 33, 1000):
        data = bytes(range(256))[:size]
        assert wecom_media.decrypt(encrypt_media(data, key), key) == data
    with pytest.raises(wecom_media.MediaError):
        wecom_media.decrypt(encrypt_media(PNG, key), bytes(32))
    with pytest.raises(wecom_media.MediaError):
        wecom_media.decrypt(b"\x00" * 15, key)


def test_file_names_from_content_disposition() -> None:
    name = wecom_media.file_name
    assert name("attachment; filename*=UTF-8''%E5%9B%BE%E7%BA%B8.pdf") == "图纸.pdf"
    assert name('attachment; filename="report.xlsx"') == "report.xlsx"
    assert name("attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd") == ".._.._etc_passwd"
    assert name("inline") == ""
    assert wecom_media.suffix_of(JPG, "") == "jpg" and wecom_media.suffix_of(b"?", "a.PDF") == "PDF"
