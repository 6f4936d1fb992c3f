"""The local platform's HTTP API, exactly as the Contracts describe it, via aiohttp's client."""

from __future__ import annotations

import pytest

from bot.app import App
from bot.model import Outgoing
from bot.platforms.local import LocalPlatform
from tests.fakes import Client, post_local

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
post = post_local


async def test_order_and_claim_over_http(client: Client) -> None:
    first = await post(client, chat="g1", sender="c1", sender_name="吴经理", text=ORDER)
    [announce] = first["replies"]
    assert announce["chat"] == "g1" and announce["text"].startswith("已收到点单 #1")
    assert announce["mentions"] == ["e1"] and announce["id"] > first["id"]
    claim = await post(client, chat="g1", sender="e1", text="接单 1")
    texts = {r["chat"]: r["text"] for r in claim["replies"]}
    assert "接单成功 #1" in texts["g1"] and "13867201234" in texts["dm-e1"]
    resp = await client.get("/api/local/messages", params={"chat": "g1", "after": "0"})
    messages = (await resp.json())["messages"]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    assert [m["from_bot"] for m in messages] == [False, True, False, True]
    assert all("13867201234" not in m["text"] for m in messages if m["from_bot"])
    later = await client.get("/api/local/messages", params={"chat": "g1",
                                                             "after": str(messages[1]["id"])})
    assert len((await later.json())["messages"]) == 2


async def test_repeated_msg_id_is_acknowledged_not_handled(client: Client, local_app: App) -> None:
    a = await post(client, chat="g1", sender="c1", text=ORDER, msg_id="m-1")
    b = await post(client, chat="g1", sender="c1", text=ORDER, msg_id="m-1")
    assert b == {"id": a["id"], "replies": []}
    assert len(local_app.store.orders()) == 1


async def test_message_without_at_is_shown_but_not_handled(client: Client,
                                                           local_app: App) -> None:
    data = await post(client, chat="g1", sender="c1", text=ORDER, at_bot=False)
    assert data["replies"] == [] and local_app.store.orders() == []
    resp = await client.get("/api/local/messages", params={"chat": "g1"})
    [shown] = (await resp.json())["messages"]
    assert shown["text"] == ORDER and shown["at_bot"] is False


async def test_single_chat_needs_no_at(client: Client) -> None:
    data = await post(client, chat="dm-c1", chat_type="single", sender="c1", text="帮助",
                      at_bot=False)
    assert data["replies"] and "帮助" in data["replies"][0]["text"]


async def test_quote_of_the_announcement_claims(client: Client) -> None:
    first = await post(client, chat="g1", sender="c1", text=ORDER)
    announce_id = first["replies"][0]["id"]
    claim = await post(client, chat="g1", sender="e1", text="接单", quote=announce_id)
    assert any("接单成功 #1" in r["text"] for r in claim["replies"])


@pytest.mark.parametrize(
    "body",
    [
        b"not json", b"[1, 2]", b'"text"', b"{}",
        b'{"chat": "g1", "sender": "c1"}',
        b'{"chat": 5, "sender": "c1", "text": "hi"}',
        b'{"chat": "g1", "sender": "c1", "text": null}',
        b'{"chat": "g1", "sender": "c1", "text": "hi", "chat_type": "channel"}',
        b'{"chat": "g1", "sender": "c1", "text": "hi", "at_bot": "yes"}',
        b'{"chat": "g1", "sender": "c1", "text": "hi", "quote": "7"}',
        b'{"chat": "", "sender": "c1", "text": "hi"}',
    ],
)
async def test_bad_bodies_get_a_4xx(client: Client, local_app: App, body: bytes) -> None:
    resp = await client.post("/api/local/messages", data=body,
                             headers={"Content-Type": "application/json"})
    assert 400 <= resp.status < 500
    assert "error" in await resp.json()
    assert local_app.store.local_messages("g1") == []


async def test_bad_query_gets_a_4xx(client: Client) -> None:
    assert (await client.get("/api/local/messages")).status == 400
    assert (await client.get("/api/local/messages?chat=g1&after=x")).status == 400


async def test_health_page_and_directory(client: Client, local_app: App) -> None:
    assert (await client.get("/healthz")).status == 200
    local_app.ready = False
    assert (await client.get("/healthz")).status == 503
    page = await client.get("/")
    assert page.status == 200 and "chat.js" in await page.text()
    assert (await client.get("/static/chat.js")).status == 200
    directory = await (await client.get("/api/local/directory")).json()
    assert {c["id"] for c in directory["chats"]} >= {"g-huzhou"}


async def test_handling_and_its_replies_commit_together(
        client: Client, local_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local chat's replies are written in the transaction that handles the message: one
    commit per message, no outbox row (the chat log is the only copy), nothing left to send."""
    db = local_app.store.db
    calls: list[str] = []
    begin, commit = db.begin, db.commit

    def counted_begin(writer: bool = True) -> None:
        calls.append("begin")
        begin(writer)

    def counted_commit() -> None:
        calls.append("commit")
        commit()

    monkeypatch.setattr(db, "begin", counted_begin)
    monkeypatch.setattr(db, "commit", counted_commit)
    first = await post(client, chat="g1", sender="c1", text=ORDER)
    monkeypatch.undo()
    assert calls == ["begin", "commit"]
    assert local_app.store.db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    logged = [m for chat in {r["chat"] for r in first["replies"]}
              for m in local_app.store.local_messages(chat) if m["from_bot"]]
    assert first["replies"] and len(first["replies"]) == len(logged)
    assert [(r["id"], r["chat"], r["text"], r["mentions"]) for r in first["replies"]] == \
        sorted((m["id"], m["chat"], m["text"], m["mentions"]) for m in logged)


async def test_a_failing_local_send_leaves_the_reply_to_the_worker(
        client: Client, local_app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    local = local_app.platforms["local"]
    assert isinstance(local, LocalPlatform)
    real_write = local.write
    calls: list[str] = []

    def flaky(out: Outgoing) -> str:
        calls.append(out.text)
        if len(calls) == 1:
            local_app.store.add_local_message("g1", "group", "bot", "bot", "half-written")
            raise RuntimeError("adapter bug")
        return real_write(out)

    monkeypatch.setattr(local, "write", flaky)
    first = await post(client, chat="g1", sender="c1", text=ORDER)
    assert first["replies"] == [] and len(local_app.store.orders()) == 1  # handled all the same
    assert local_app.store.local_messages("g1", 0)[-1]["text"] == ORDER  # no half-written line
    assert await local_app.outbox.drain() == 1  # the worker delivers it
    [announce] = [m for m in local_app.store.local_messages("g1", 0) if m["from_bot"]]
    assert announce["text"].startswith("已收到点单 #1")
