"""Pictures and files that come with an order: kept, listed, forwarded to the claiming expert,
shown on the dashboard; anything else gets a hint, never silence."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.model import Attachment, FrozenClock
from bot.web.server import make_web_app
from storage.files import media_file, save_media
from storage.records import ATTACHMENT
from tests.fakes import FakeChat, add_expert

Client = TestClient[web.Request, web.Application]
ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _photo(app: App, name: str = "变形.jpg") -> Attachment:
    return Attachment("image", name, ref="media-123",
                      path=save_media(app.config.storage.path, PNG, ".png"))


async def test_a_picture_with_the_order_is_kept_and_listed(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say(ORDER, sender="wu", attachments=(_photo(app),))
    [kept] = app.store.attachments(1)
    assert kept.attachment.name == "变形.jpg" and kept.platform == "fake"
    assert app.store.events(kind="order.attached")
    [shown] = await chat.say("查询 1", sender="wu")
    assert "附件：变形.jpg" in shown.text


async def test_a_picture_right_after_the_order_joins_it(chat: FakeChat, app: App,
                                                        clock: FrozenClock) -> None:
    await chat.say(ORDER, sender="wu")
    clock.advance(minutes=3)
    [done] = await chat.say("", sender="wu", attachments=(_photo(app),))
    assert done.text.startswith("已把图片附在 #1（共 1 个附件）")
    clock.advance(minutes=20)  # too late to guess: a hint, nothing attached
    [hint] = await chat.say("", sender="wu", attachments=(Attachment("file", "图纸.pdf"),))
    assert "收到文件" in hint.text and len(app.store.attachments(1)) == 1
    [other] = await chat.say("", sender="li", attachments=(_photo(app),))  # not his order
    assert "收到图片" in other.text


async def test_quoting_the_order_attaches_even_later(chat: FakeChat, app: App,
                                                     clock: FrozenClock) -> None:
    announce, *_ = await chat.say(ORDER, sender="wu")
    clock.advance(hours=5)
    [done] = await chat.say("", sender="wu", attachments=(Attachment("file", "图纸.pdf"),),
                            quote_text=announce.text)
    assert "#1" in done.text and app.store.attachments(1)[0].attachment.name == "图纸.pdf"


async def test_voice_alone_gets_a_hint(chat: FakeChat) -> None:
    [hint] = await chat.say("", sender="wu", attachments=(Attachment("voice"),))
    assert "听不懂语音" in hint.text


async def test_a_voice_without_sound_joins_no_order(chat: FakeChat, app: App) -> None:
    await chat.say(ORDER, sender="wu")
    [hint] = await chat.say("", sender="wu", attachments=(Attachment("voice"),))
    assert "听不懂语音" in hint.text and app.store.attachments(1) == []
    [kept] = await chat.say("", sender="wu", attachments=(Attachment("voice", ref="v-1"),))
    assert "#1" in kept.text and len(app.store.attachments(1)) == 1  # one it can fetch


async def test_the_claiming_expert_is_sent_the_attachments(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say(ORDER, sender="wu", attachments=(_photo(app),))
    replies = await chat.say("接单 1", sender="e1")
    [sent] = [r for r in replies if r.to_user == "e1" and "附件" in r.text]
    assert "变形.jpg" in sent.text
    items = [app.store.outbox_item(i) for i in range(1, 30)]
    assert any(it and it.extra.get(ATTACHMENT) == "1" for it in items)


async def test_the_dashboard_shows_the_picture_inside_the_scope_only(
        chat: FakeChat, app: App,
        aiohttp_client: Callable[[web.Application], Awaitable[Client]]) -> None:
    await chat.say(ORDER, sender="wu", attachments=(_photo(app),))
    await chat.say("点单：变频器过流故障", sender="chen", chat="g2",
                   attachments=(_photo(app, "柜子.png"),))
    await chat.say("/管理员 添加 fake:li 群:g1", sender="admin")
    replies = await chat.say("/后台", sender="li", chat="g1")
    token = re.search(r"login=(\S+)", next(r.text for r in replies if r.to_user == "li"))
    assert token is not None
    client = await aiohttp_client(make_web_app(app))
    page = await client.get("/admin/orders/1", params={"login": token.group(1)})
    html = await page.text()
    assert "变形.jpg" in html and "/admin/orders/1/files/1" in html
    image = await client.get("/admin/orders/1/files/1")
    assert image.status == 200 and image.content_type == "image/png"
    assert await image.read() == PNG
    assert (await client.get("/admin/orders/2/files/2")).status == 404  # not li's group
    assert (await client.get("/admin/orders/1/files/2")).status == 404  # another order's


def test_a_kept_copy_is_private_and_never_outside_its_folder(app: App) -> None:
    path = save_media(app.config.storage.path, PNG, ".PNG")
    assert path.startswith("media/") and path.endswith(".png")
    found = media_file(app.config.storage.path, path)
    assert found is not None and found.stat().st_mode & 0o777 == 0o600
    assert found.parent.stat().st_mode & 0o777 == 0o700
    for escape in ("../bot.db", "media/../bot.db", "/etc/passwd", "media", ""):
        assert media_file(app.config.storage.path, escape) is None, escape
    assert Path(app.config.storage.path).exists() or app.store.db.kind == "postgresql"
