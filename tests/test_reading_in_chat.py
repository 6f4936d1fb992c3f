"""Messages as people really write them, through the chat: a bare 点单, status questions in
words, traditional characters, and an enterprise known from the roster of contacts."""

from __future__ import annotations

from bot.app import App
from bot.model import FrozenClock
from handlers.orders import ASK_PROBLEM
from tests.fakes import FakeChat, add_expert

BARE_PROBLEM = "不锈钢薄板焊接后变形严重"
PROBLEM = "不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"


async def test_a_bare_order_asks_for_the_problem_and_the_answer_opens_it(
        chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    replies = await chat.say("我要点单", sender="wu")
    assert [r.text for r in replies] == [ASK_PROBLEM]
    assert app.store.get_order(1) is None
    await chat.say("谢谢", sender="wu")  # thanks are no problem to order for
    assert app.store.get_order(1) is None
    await chat.say("这个群是干什么的", sender="li")  # someone else: not the answer
    assert app.store.get_order(1) is None
    replies = await chat.say(PROBLEM, sender="wu")
    order = app.store.get_order(1)
    assert order is not None and order.requester == "fake:wu"
    assert order.category == "焊接" and order.contact == "吴经理"
    assert any("#1" in r.text and "e1" in r.mentions for r in replies)


async def test_an_unanswered_bare_order_expires(chat: FakeChat, app: App,
                                                 clock: FrozenClock) -> None:
    await chat.say("点单", sender="wu")
    clock.advance(hours=3)
    await chat.say(BARE_PROBLEM, sender="wu")  # on its own, no order
    assert app.store.get_order(1) is None
    await chat.say("点单", sender="wu")
    await chat.say(BARE_PROBLEM, sender="wu")
    order = app.store.get_order(1)
    assert order is not None and order.category == "焊接"


async def test_status_questions_get_the_status(chat: FakeChat, app: App) -> None:
    await chat.say("点单：" + PROBLEM, sender="wu")
    [asked] = await chat.say("查询 1", sender="wu")
    for words in ("1号单什么情况了", "#1 进度怎么样", "一号单有人接了没"):
        [got] = await chat.say(words, sender="wu")
        assert got.text == asked.text
    [mine] = await chat.say("上次那个师傅还没来啊", sender="wu")
    assert "#1" in mine.text
    assert app.store.get_order(2) is None


async def test_withdrawing_in_words_cancels_ones_own_open_order(chat: FakeChat,
                                                                  app: App) -> None:
    await chat.say("点单：" + PROBLEM, sender="wu")
    await chat.say("1号单不用了，已经自己修好了", sender="wu")
    order = app.store.get_order(1)
    assert order is not None and order.state.value == "cancelled"


async def test_traditional_characters_are_read_and_kept_as_written(chat: FakeChat,
                                                                     app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say("點單：溫州甌海一家閥門廠，不鏽鋼焊接後變形嚴重，"
                   "聯繫人鄭經理 １３９０６５７８８１２", sender="zh")
    order = app.store.get_order(1)
    assert order is not None
    assert order.enterprise == "溫州甌海一家閥門廠" and order.contact == "鄭經理"
    assert order.phone == "13906578812" and order.category == "焊接"
    assert order.region == "浙江省温州市瓯海区"


async def test_the_roster_of_contacts_fills_a_missing_enterprise(chat: FakeChat,
                                                                  app: App) -> None:
    app.store.set_contact("fake:c1", "吴建明", "德清县恒远钢构有限公司", "浙江省湖州市德清县",
                          actor="test")
    await chat.say("点单：" + PROBLEM, sender="c1")
    order = app.store.get_order(1)
    assert order is not None
    assert (order.enterprise, order.region) == ("德清县恒远钢构有限公司", "浙江省湖州市德清县")
    assert app.store.events(kind="contact.set")


async def test_a_private_request_lends_no_enterprise_to_a_group_order(chat: FakeChat,
                                                                      app: App) -> None:
    await chat.say("我在海盐一家紧固件厂上班，厂里拖欠加班费，想咨询律师", sender="w1",
                   single=True)
    await chat.say("点单：海宁一家经编厂，经编机断纱多，想请师傅看看", sender="w1", chat="g2")
    await chat.say("点单：" + PROBLEM, sender="w1", chat="g3")
    first, second, third = (app.store.get_order(n) for n in (1, 2, 3))
    assert first is not None and first.private and first.enterprise is None
    assert second is not None and third is not None
    assert third.enterprise == second.enterprise == "海宁一家经编厂"
