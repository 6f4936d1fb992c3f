"""Who a message @-mentions: read from the platform, remembered as group members, and used
to name an expert (`/指派 12 @沈国平`)."""

from __future__ import annotations

from bot.app import App
from bot.platforms.dingtalk_inbound import to_incoming
from tests.fakes import FakeChat, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"
BOT = "$:LWCP_v1:$robot"


def _dingtalk(at_users: object) -> dict[str, object]:
    return {"msgtype": "text", "text": {"content": " /指派 1 @沈国平"}, "msgId": "m1",
            "conversationType": "2", "conversationId": "cid1", "senderStaffId": "staff-li",
            "senderNick": "李", "chatbotUserId": BOT, "atUsers": at_users}


def test_dingtalk_at_users_are_the_mentions_without_the_bot() -> None:
    msg = to_incoming(_dingtalk([{"dingtalkId": BOT}, {"dingtalkId": "$:x", "staffId": "s2"},
                                 {"dingtalkId": "$:y", "staffId": "s2"},
                                 {"dingtalkId": "$:z"}]))
    assert msg is not None and msg.mentions == ("s2",)
    for junk in (None, "s2", [1, "x", None], [{"staffId": ["s"]}], {"staffId": "s"}):
        odd = to_incoming(_dingtalk(junk))
        assert odd is not None and odd.mentions == ()


async def test_assign_by_mentioning_the_expert(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("电气",))
    await chat.say(ORDER, sender="wu")
    # The text names 叶工 as the chat shows him; the platform says it was e2.
    replies = await chat.say("/指派 1 @叶工", sender="admin", mentions=("e2",))
    assert any("#1 已由管理员指派给 叶卫东" in r.text for r in replies)
    order = app.store.get_order(1)
    assert order is not None and order.lead == "e2"


async def test_a_mention_of_someone_not_on_the_roster_falls_back_to_the_name(
        chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await chat.say(ORDER, sender="wu")
    replies = await chat.say("/指派 1 @沈国平", sender="admin", mentions=("stranger",))
    assert any("指派给 沈国平" in r.text for r in replies)
    [nobody] = await chat.say("/改派 1 @无名氏", sender="admin")
    assert nobody.text == "没有找到专家「无名氏」"


def test_the_demo_knows_who_is_in_its_groups(app: App) -> None:
    from bot.loaders import seed

    seed(app.store)
    assert app.store.seen_in("local", "g-huzhou", "e1")
    assert not app.store.seen_in("local", "g-wucheng", "e1")
