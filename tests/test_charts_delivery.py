"""The tally chart on real platforms' doubles: WeCom webhooks post it, other paths send text."""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from bot.app import App
from bot.charts import HEIGHT, WIDTH, image_extra, tally_chart_png
from bot.model import SHANGHAI, FrozenClock, Outgoing
from bot.platforms.base import SendError
from bot.platforms.dingtalk import DingTalkPlatform
from bot.platforms.wecom_send import IMAGE_LIMIT, WeComHttp
from tests.doubles_dingtalk import DingTalkDouble, dingtalk_app
from tests.doubles_wecom import GROUP_KEY, Rig, start_rig

JUNE_FIRST = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)
FIGURES = {"requests": 3, "completed": 2, "solved": 1, "sessions": 2, "person_times": 4,
           "suggestions": 5}
PNG = tally_chart_png(FIGURES, None)


@pytest.fixture
async def rig(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Rig]:
    r = await start_rig(tmp_path, clock)
    yield r
    await r.close()


async def test_wecom_monthly_post_sends_text_then_image(rig: Rig, clock: FrozenClock) -> None:
    await rig.double.deliver(rig.double.message("/统计 2026-05", userid="admin"))
    await rig.settle()
    # The answer to /统计 goes through the message's response_url: markdown only.
    [answer] = rig.double.sent
    assert answer.via == "response_url" and "收到需求" in answer.content
    assert "图：①收到需求" in answer.content

    clock.set(JUNE_FIRST)
    await rig.app.run_jobs()
    await rig.app.outbox.drain()
    posts = rig.double.sent[1:]
    assert [p.via for p in posts] == ["webhook"] * len(posts)
    assert [p.body["msgtype"] for p in posts][-1] == "image"
    assert all(p.body["msgtype"] == "markdown" for p in posts[:-1])
    assert "2026年5月" in posts[0].content and "深色本月" in "".join(p.content for p in posts)
    image = posts[-1]
    assert image.image is not None
    assert Image.open(io.BytesIO(image.image)).size == (WIDTH, HEIGHT)
    assert image.body["image"]["md5"] == hashlib.md5(image.image).hexdigest()
    assert rig.double.violations == []


async def test_wecom_image_is_retried_alone_after_a_5xx(rig: Rig) -> None:
    http = WeComHttp(rig.double.base)
    progress = [0]
    try:
        rig.double.fail_next = [0, 503]  # the text passes, the image meets a 5xx
        with pytest.raises(SendError):
            await http.webhook(GROUP_KEY, "wrgroup1", "月度统计", (), progress=progress,
                               image=PNG)
        assert progress == [1]
        await http.webhook(GROUP_KEY, "wrgroup1", "月度统计", (), start=progress[0],
                           progress=progress, image=PNG)
    finally:
        await http.close()
    assert [p.body["msgtype"] for p in rig.double.sent] == ["markdown", "image"]
    assert rig.double.sent[1].image == PNG


async def test_wecom_refused_or_oversized_image_leaves_the_text_sent(rig: Rig) -> None:
    not_a_picture = b"GIF89a" + b"\x00" * 64
    item_id = rig.app.store.enqueue(Outgoing("wecom", "wrgroup1", "统计一",
                                             extra=image_extra(PNG, "t.png")
                                             | {"image_png": "R0lGODlh"}))
    assert await rig.app.outbox.drain() == 1  # not valid PNG base64: ignored, text only
    item = rig.app.store.outbox_item(item_id)
    assert item is not None and item.state == "sent"
    http = WeComHttp(rig.double.base)
    try:
        await http.webhook(GROUP_KEY, "wrgroup1", "统计二", (), image=not_a_picture)
        await http.webhook(GROUP_KEY, "wrgroup1", "统计三", (),
                           image=PNG + b"\x00" * (IMAGE_LIMIT + 1 - len(PNG)))
    finally:
        await http.close()
    assert [p.body["msgtype"] for p in rig.double.sent] == ["markdown"] * 3
    assert [p.errcode for p in rig.double.posts if p.body["msgtype"] == "image"] == [40009]


@pytest.fixture
async def dingtalk(tmp_path: Path, clock: FrozenClock
                   ) -> AsyncIterator[tuple[App, DingTalkPlatform, DingTalkDouble]]:
    double = await DingTalkDouble(clock).start()
    app, platform = dingtalk_app(tmp_path, clock, double)
    yield app, platform, double
    await platform.sender.close()
    app.store.db.close()
    await double.close()


async def test_dingtalk_sends_the_text_then_the_chart_as_a_picture(
        dingtalk: tuple[App, DingTalkPlatform, DingTalkDouble], clock: FrozenClock) -> None:
    app, platform, double = dingtalk
    handled = await platform.receive(double.message("/统计 2026-05", sender="admin-li"))
    assert handled is not None
    [stats] = handled.sent
    item = app.store.outbox_item(stats)
    assert item is not None and "image_png" in item.extra
    assert await app.outbox.drain() == 1
    reply, picture = double.sent
    assert reply.via == "webhook" and reply.kind == "text" and "图：①收到需求" in reply.text
    assert "image_png" not in reply.text and "iVBOR" not in reply.text
    assert picture.kind == "sampleImageMsg"  # the chart, uploaded, after its text

    clock.set(JUNE_FIRST)
    await app.run_jobs()
    assert await app.outbox.drain() == 1
    monthly = next(d for d in double.sent[2:] if "2026年5月" in d.text)
    assert monthly.via == "card" and "iVBOR" not in monthly.text  # its 待接单 button
    assert double.sent[-1].kind == "sampleImageMsg"
    assert app.store.pending_count() == 0
    failed = app.store.db.execute("SELECT count(*) FROM outbox WHERE state = 'failed'")
    assert failed.fetchone()[0] == 0
