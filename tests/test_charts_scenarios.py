"""The tally chart end to end: /统计 and the monthly post carry it, the local chat shows it."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

from PIL import Image

from bot.app import App
from bot.charts import HEIGHT, IMAGE_NAME, WIDTH, image_of, tally_chart_png
from bot.model import SHANGHAI, FrozenClock
from storage.records import OutboxItem
from tests.fakes import Client, FakeChat, make_app, post_local

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
LEGEND = "图：①收到需求 ②已办结 ③解决难题 ④服务场次 ⑤服务人次 ⑥合理化建议"


class ItemChat(FakeChat):
    """A FakeChat that also keeps the outbox items it was given (with their extras)."""

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.items: list[OutboxItem] = []

    async def send(self, item: OutboxItem) -> str:
        self.items.append(item)
        return await super().send(item)


def _shows_one_request(png: bytes) -> bool:
    """Whether the chart is the one of a tally with one request against an empty previous
    period (charts are drawn the same for the same figures), and not an empty chart."""
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)
    one_request = tally_chart_png({"requests": 1}, {})
    assert tally_chart_png({}, {}) != one_request
    return png == one_request


async def test_stats_command_carries_the_chart(tmp_path: Path, clock: FrozenClock) -> None:
    app = make_app(tmp_path, clock)
    chat = ItemChat(app)
    await chat.say(ORDER, sender="wu")
    before = len(chat.items)
    [stats] = await chat.say("/统计 2026-05", sender="admin")
    [item] = chat.items[before:]
    assert "2026年5月" in stats.text and "收到需求 1 件" in stats.text
    assert stats.text.splitlines()[-1].startswith(LEGEND)
    assert "深色本月、浅色上月" in stats.text
    png = image_of(item.extra)
    assert png is not None and item.extra[IMAGE_NAME] == "tally-2026-05-01.png"
    assert _shows_one_request(png)
    assert item.in_reply_to is not None  # still an answer to the command

    [days] = await chat.say("/统计 2026-05-01~2026-05-10", sender="admin")
    assert "深色本期、浅色上期" in days.text
    empty = image_of(chat.items[-1].extra)
    assert empty is not None and Image.open(io.BytesIO(empty)).size == (WIDTH, HEIGHT)
    [denied] = await chat.say("/统计 2026-05", sender="wu")
    assert denied.text == "只有管理员可以使用 /统计" and not chat.items[-1].extra
    app.store.db.close()


async def test_monthly_post_carries_the_chart(tmp_path: Path) -> None:
    clock = FrozenClock(datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI))
    app = make_app(tmp_path, clock)
    chat = ItemChat(app)
    await chat.say(ORDER, sender="wu", chat="g1")
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI))
    before = len(chat.items)
    await app.run_jobs()
    await app.outbox.drain()
    [post] = [i for i in chat.items[before:] if "统计" in i.text]
    assert post.chat_id == "g1" and "2026年5月" in post.text and "收到需求 1 件" in post.text
    assert LEGEND in post.text and "深色本月、浅色上月" in post.text
    png = image_of(post.extra)
    assert png is not None and post.extra[IMAGE_NAME] == "tally-2026-05.png"
    assert _shows_one_request(png)
    app.store.db.close()


async def test_local_api_serves_the_chart(client: Client) -> None:
    order = await post_local(client, chat="g1", sender="c1", text=ORDER)
    assert all(r["image"] is None for r in order["replies"])
    answer = await post_local(client, chat="g1", sender="admin", text="/统计 2026-05")
    [reply] = answer["replies"]
    assert set(reply) == {"id", "chat", "text", "mentions", "image"}
    assert reply["image"] == f"/api/local/images/{reply['id']}.png"
    resp = await client.get(reply["image"])
    assert resp.status == 200 and resp.content_type == "image/png"
    png = await resp.read()
    assert _shows_one_request(png)

    listed = await client.get("/api/local/messages", params={"chat": "g1"})
    messages = (await listed.json())["messages"]
    assert [m["image"] for m in messages] == [
        None if m["id"] != reply["id"] else reply["image"] for m in messages]
    assert all("has_image" not in m and m["text"] for m in messages)
    assert {"id", "chat", "sender", "text", "mentions", "from_bot", "ts"} <= set(messages[0])

    assert (await client.get(f"/api/local/images/{order['id']}.png")).status == 404
    assert (await client.get("/api/local/images/999999.png")).status == 404
    assert (await client.get("/api/local/images/abc.png")).status == 404
