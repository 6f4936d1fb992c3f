"""Nothing is dropped silently: a 1:1 message a platform cannot deliver goes to a group the
person is in, a group post that cannot go out is reported to the admins, and an expert who is
not in the order's group is told 1:1."""

from __future__ import annotations

import re

import pytest

from bot.app import App
from bot.model import ChatKind, Incoming, Outgoing
from bot.platforms.base import SendError
from tests.fakes import FULL_PHONE, FakeChat, add_expert

ORDER = "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234"
PRIVATE = "点单：我叫王小明，公司拖欠我三个月工资，想咨询怎么维权，电话 13912345678"


class CallbackOnly(FakeChat):
    """Like WeCom in URL-callback mode: it can post in groups, never message a person."""

    can_tell = False


@pytest.fixture
def mute(app: App) -> CallbackOnly:
    return CallbackOnly(app)


async def test_a_claims_contact_notice_goes_to_the_orders_group(mute: CallbackOnly,
                                                                 app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    await mute.say(ORDER, sender="wu")
    replies = await mute.say("接单 1", sender="e1")
    assert all(r.to_user is None for r in replies)  # nothing was sent 1:1
    [told] = [r for r in replies if "您已接单 #1" in r.text]
    assert told.chat == "g1" and told.mentions == ("e1",)
    assert "查询 1" in told.text and not FULL_PHONE.search(told.text)
    failed = [i for i in range(1, 20) if (it := app.store.outbox_item(i))
              and it.state == "failed"]
    assert len(failed) == 1 and app.store.events(kind="outbox.failed")


async def test_a_private_matter_reaches_a_group_only_as_a_nudge(mute: CallbackOnly,
                                                                 app: App) -> None:
    add_expert(app, "e5", "林律师", ("劳动法", "欠薪维权"), groups=("g7",))
    replies = await mute.say(PRIVATE, sender="w9", single=True)
    [nudge] = [r for r in replies if r.chat == "g7"]
    assert nudge.mentions == ("e5",) and "查询 1" in nudge.text
    assert "拖欠" not in nudge.text and "王小明" not in nudge.text and "139" not in nudge.text


async def test_someone_in_no_known_group_is_reported_to_the_admins(mute: CallbackOnly,
                                                                   app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"), groups=())
    app.store.saw("fake", "g-admins", ("admin",))  # where the admin was seen writing
    await mute.say(ORDER, sender="wu", chat="g9")
    [report] = [s for s in mute.sent if s.chat == "g-admins"]
    assert report.mentions == ("admin",) and "e1" in report.text and "#1" in report.text


async def test_with_nowhere_to_go_it_stops_and_says_so(mute: CallbackOnly, app: App,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"), groups=())
    await mute.say(ORDER, sender="wu", chat="g9")
    assert "no admin can be told" in caplog.text
    assert not [i for i in range(1, 20) if (it := app.store.outbox_item(i))
                and it.state == "pending"]  # nothing left to retry for ever


async def test_a_dashboard_link_never_reaches_a_group(mute: CallbackOnly) -> None:
    replies = await mute.say("/后台", sender="admin")
    assert not any("login=" in r.text for r in replies)
    [nudge] = [r for r in replies if r.mentions == ("admin",)]
    assert nudge.chat == "g1" and "私聊" in nudge.text


async def test_a_group_post_that_cannot_go_out_is_reported(chat: FakeChat, app: App) -> None:
    app.store.enqueue(Outgoing("fake", "g5", "月度统计：收到需求 3 件", chat_kind=ChatKind.GROUP))
    chat.fail_next = [SendError("no webhook key for group g5", permanent=True)]
    assert await app.outbox.drain() == 1  # the report, in the same drain
    [report] = chat.sent
    assert report.to_user == "admin" and "g5" in report.text and "收到需求 3 件" in report.text


async def test_a_lost_1to1_reply_reaches_a_group_only_as_a_nudge(mute: CallbackOnly,
                                                                   app: App) -> None:
    app.store.saw("fake", "g7", ("w9",))
    mute.fail_next = [SendError("response_url used up", permanent=True)]
    replies = await mute.say(PRIVATE, sender="w9", single=True)
    [nudge] = [r for r in replies if r.chat == "g7"]
    assert nudge.mentions == ("w9",) and "私聊" in nudge.text
    assert "拖欠" not in nudge.text and "王小明" not in nudge.text and "139" not in nudge.text


async def test_another_groups_post_is_not_shown_where_the_admin_is(mute: CallbackOnly,
                                                                  app: App) -> None:
    app.store.saw("fake", "g-admins", ("admin",))
    app.store.enqueue(Outgoing("fake", "g5", "#3 王师傅的联系方式：另约", chat_kind=ChatKind.GROUP))
    mute.fail_next = [SendError("no webhook key for group g5", permanent=True)]
    assert await app.outbox.drain() == 1
    [report] = mute.sent
    assert report.chat == "g-admins" and "g5" in report.text and "王师傅" not in report.text


# -- experts who are not in the order's group -------------------------------------------------

async def test_an_expert_not_seen_in_the_group_is_told_1to1(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))  # seen in g1
    add_expert(app, "e2", "叶卫东", ("焊接", "薄板焊接"), groups=())
    replies = await chat.say(ORDER, sender="wu")
    [announce] = [r for r in replies if r.chat == "g1"]
    assert set(announce.mentions) == {"e1", "e2"}
    [told] = [r for r in replies if r.to_user is not None]
    assert told.to_user == "e2" and "#1" in told.text and "接单 1" in told.text
    assert "推荐理由" in told.text


async def test_an_expert_group_that_got_the_order_counts(chat: FakeChat, app: App) -> None:
    add_expert(app, "e2", "叶卫东", ("焊接", "薄板焊接"), groups=("g-experts",))
    await chat.say("/设置 专家群 湖州", sender="admin", chat="g-experts")
    await chat.say("/设置 地区 德清", sender="admin", chat="g1")
    replies = await chat.say(ORDER, sender="wu")
    assert [r.chat for r in replies if "e2" in r.mentions] == ["g1", "g-experts"]
    assert not [r for r in replies if r.to_user == "e2"]


async def test_senders_and_those_they_mention_are_known_members(app: App) -> None:
    chat = FakeChat(app)
    msg = Incoming(platform="fake", msg_id="m1", chat_id="g3", chat_kind=ChatKind.GROUP,
                   sender_id="wu", sender_name="吴经理", text="帮助", mentions=("li",))
    await app.handle(msg)
    assert app.store.seen_in("fake", "g3", "wu") and app.store.seen_in("fake", "g3", "li")
    assert app.store.last_group_of("fake", "li") == "g3"
    assert not app.store.seen_in("fake", "g1", "wu")
    assert await app.outbox.drain() == 1 and re.search("匠心点单", chat.sent[0].text)
