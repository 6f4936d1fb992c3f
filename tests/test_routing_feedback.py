"""Admins' and experts' choices teach the matcher: an order given to an expert by /指派 or
/改派 makes similar orders fit them; one they give back (退单) or lose (改派) fits them less."""

from __future__ import annotations

from bot.app import App
from bot.text.match import ExpertProfile, Matcher
from tests.fakes import FakeChat, add_expert

WELD = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"
AGAIN = "点单：薄板焊接变形又严重了，请焊接师傅来看看"


def test_an_avoided_order_makes_similar_ones_fit_less() -> None:
    a = ExpertProfile(id="A", name="甲", skills=("焊接变形控制",), tags=())
    b = ExpertProfile(id="B", name="乙", skills=("焊接变形控制",), tags=())
    assert [m.id for m in Matcher([a, b]).rank(AGAIN)][:1] == ["A"]  # a tie: by id
    avoided = ExpertProfile(id="A", name="甲", skills=("焊接变形控制",), tags=(),
                            avoid=("不锈钢薄板焊接后变形严重",))
    assert [m.id for m in Matcher([avoided, b]).rank(AGAIN)][:1] == ["B"]


async def test_reassigning_teaches_the_next_similar_order(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接变形控制",))
    add_expert(app, "e2", "俞建强", ("焊接变形控制",))
    replies = await chat.say(WELD, sender="wu")
    [first] = [r for r in replies if "#1" in r.text and r.chat == "g1"]
    assert first.mentions[0] == "e1"  # equal skills: the first by id
    await chat.say("接单 1", sender="e1")
    await chat.say("/改派 1 e2", sender="admin")
    texts = app.store.served_texts()
    assert [t for t, _, _ in texts["e2"]] and app.store.avoided_texts()["e1"]
    replies = await chat.say(AGAIN, sender="li", chat="g2")
    [second] = [r for r in replies if "#2" in r.text and r.chat == "g2"]
    assert second.mentions[0] == "e2"


async def test_giving_an_order_back_is_remembered(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接变形控制",))
    add_expert(app, "e2", "俞建强", ("焊接变形控制",))
    await chat.say(WELD, sender="wu")
    await chat.say("接单 1", sender="e1")
    await chat.say("退单 1 这类活我做不了", sender="e1")
    assert app.store.avoided_texts()["e1"] == ["不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"]
    replies = await chat.say(AGAIN, sender="li", chat="g2")
    [second] = [r for r in replies if "#2" in r.text and r.chat == "g2"]
    assert second.mentions[0] == "e2"
