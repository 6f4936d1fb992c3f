"""10,000 random messages through the local HTTP API: no 5xx, no traceback, always an answer."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.model import FrozenClock
from bot.web.server import make_web_app
from tests.fakes import FULL_PHONE, add_expert, make_app

Client = TestClient[web.Request, web.Application]
PIECES = ["点单：", "接单 ", "协助 ", "退单 ", "预约 ", "进展 ", "办结 ", "评价 ", "撤销 ", "补充 ",
          "查询 ", "我的单", "待接单", "服务清单", "帮助", "/指派 ", "/统计 ", "/专家 列表",
          "/关闭 ",
          "/案例 ", "/设置 地区 ", "绑定 ", "是", "焊接变形严重", "鱼塘缺氧", "变频器过流",
          "联系人吴经理 13867201234", "明天下午3点 现场", "已解决 服务2小时 受益30人", "满意",
          "4星", "下周三前", "德清", "#", "1", "2", "3", "99999", " ", "\n", "🙂", "<script>",
          "'; DROP TABLE orders; --", "\u3000", "１", "x" * 50]
SENDERS = ["c1", "c2", "e1", "e2", "e3", "admin", "stranger"]


@pytest.fixture
async def client(tmp_path: Path, clock: FrozenClock,
                 aiohttp_client: Callable[[web.Application], Awaitable[Client]]
                 ) -> AsyncIterator[Client]:
    app: App = make_app(tmp_path, clock, local=True, admins=("local:admin",))
    skills_of = [("焊接", "焊接变形"), ("变频器", "电气"), ("水产养殖", "溶解氧")]
    for i, skills in enumerate(skills_of, 1):
        add_expert(app, f"e{i}", f"专家{i}", skills, platform="local")
    app.ready = True
    yield await aiohttp_client(make_web_app(app))
    app.store.db.close()


def _message(rng: random.Random) -> dict[str, object]:
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))
    body: dict[str, object] = {"chat": rng.choice(["g1", "g2", "dm-x"]),
                               "sender": rng.choice(SENDERS), "text": text}
    if rng.random() < 0.2:
        body["chat_type"] = "single"
    if rng.random() < 0.1:
        body["at_bot"] = False
    if rng.random() < 0.05:
        body["msg_id"] = f"m{rng.randint(1, 50)}"  # redeliveries
    if rng.random() < 0.05:
        body["quote"] = rng.randint(1, 200)
    return body


async def test_ten_thousand_random_messages(client: Client,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(20261128)
    statuses: dict[int, int] = {}
    unanswered = 0
    for i in range(10_000):
        if i % 50 == 0:  # now and then a malformed body
            resp = await client.post("/api/local/messages", data=rng.choice(
                [b"{", b"[]", b'{"chat": 1}', b"\xff\xfe", b'{"chat":"g1","sender":"a"}']),
                headers={"Content-Type": "application/json"})
        else:
            body = _message(rng)
            resp = await client.post("/api/local/messages", data=json.dumps(body),
                                     headers={"Content-Type": "application/json"})
            if resp.status == 200:
                data = await resp.json()
                redelivery = "msg_id" in body
                heard = body.get("chat_type") == "single" or body.get("at_bot", True)
                if heard and not redelivery and not data["replies"]:
                    unanswered += 1
        statuses[resp.status] = statuses.get(resp.status, 0) + 1
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses.get(200, 0) > 9_000
    assert unanswered == 0
    assert "Traceback" not in caplog.text
    for chat in ("g1", "g2"):  # no full phone number in any group post of the bot
        resp = await client.get("/api/local/messages", params={"chat": chat})
        # The fuzz also uses these chat ids as 1:1 chats, where full numbers are allowed.
        posts = [m["text"] for m in (await resp.json())["messages"]
                 if m["from_bot"] and m["chat_type"] == "group"]
        assert posts and not any(FULL_PHONE.search(t) for t in posts)
