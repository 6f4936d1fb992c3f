"""绑定 trust: only the whole registered number matches, the requester never learns whether
or whom it matched, admins confirm knowing the account and its platform name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.app import App
from tests.fakes import FakeChat, FrozenClock, Sent

pytestmark = pytest.mark.usefixtures("experts")

NEUTRAL = "已收到绑定申请。如果该号码在专家库中，管理员确认后即可接单。"


def set_phone(app: App, eid: str, phone: str, accounts: tuple[str, ...] = ()) -> None:
    e = app.store.get_expert(eid)
    assert e is not None
    app.store.upsert_expert(replace(e, phone=phone, accounts=accounts), "test")


def to_admins(sent: list[Sent]) -> list[Sent]:
    return [s for s in sent if s.to_user is not None and s.to_user != "newbie"]


async def test_a_partial_number_matches_nobody(chat: FakeChat, app: App) -> None:
    set_phone(app, "e3", "13905720118")
    for partial in ("3905720118", "05720118", "72 0118"):
        sent = await chat.say(f"绑定 {partial}", sender="newbie", single=True)
        assert not to_admins(sent), partial
        assert all("陈水根" not in s.text and "e3" not in s.text for s in sent)
    assert app.store.link_request("fake:newbie") is None


async def test_the_reply_never_says_whether_or_whom_the_number_matched(
        chat: FakeChat, app: App) -> None:
    set_phone(app, "e3", "13905720118")
    [unknown] = await chat.say("绑定 13800000000", sender="other", single=True)
    sent = await chat.say("绑定 +86 139-0572-0118", sender="newbie", name="陈师傅", single=True)
    [mine] = [s for s in sent if s.to_user is None]
    assert unknown.text == mine.text == NEUTRAL
    assert app.store.link_request("fake:other") is None
    request = app.store.link_request("fake:newbie")
    assert request is not None and request["expert_id"] == "e3"
    [ask] = to_admins(sent)
    assert ask.to_user == "admin"
    assert "fake:newbie" in ask.text and "陈师傅" in ask.text  # account and platform name
    assert "陈水根（e3）" in ask.text and "/专家 确认 fake:newbie e3" in ask.text
    assert "13905720118" not in ask.text


async def test_repeats_do_not_spam_admins(chat: FakeChat, app: App,
                                          clock: FrozenClock) -> None:
    set_phone(app, "e3", "13905720118")
    set_phone(app, "e1", "13606571283")
    first = await chat.say("绑定 13905720118", sender="newbie", single=True)
    assert len(to_admins(first)) == 1
    for _ in range(5):
        again = await chat.say("绑定 13905720118", sender="newbie", single=True)
        assert not to_admins(again)
        assert [s.text for s in again] == [NEUTRAL]
    clock.advance(minutes=61)
    later = await chat.say("绑定 13905720118", sender="newbie", single=True)
    assert len(to_admins(later)) == 1  # an hour on, admins are reminded once
    other = await chat.say("绑定 13606571283", sender="newbie", single=True)
    [switched] = to_admins(other)  # a different expert is a new claim: admins must see it
    assert "沈国平（e1）" in switched.text
    request = app.store.link_request("fake:newbie")
    assert request is not None and request["expert_id"] == "e1"  # one request per account


async def test_confirm_names_the_expert_the_admin_was_asked_about(chat: FakeChat,
                                                                 app: App) -> None:
    set_phone(app, "e3", "13905720118")
    set_phone(app, "e1", "13606571283")
    await chat.say("绑定 13905720118", sender="newbie", single=True)
    await chat.say("绑定 13606571283", sender="newbie", single=True)  # switched to e1
    [refused] = await chat.say("/专家 确认 fake:newbie e3", sender="admin")
    assert "沈国平（e1）" in refused.text and "请核对" in refused.text
    assert app.store.expert_by_account("fake:newbie") is None
    ok = await chat.say("/专家 确认 fake:newbie e1", sender="admin")
    assert "已把账号 fake:newbie 绑定到专家 沈国平（e1）" in ok[0].text
    linked = app.store.expert_by_account("fake:newbie")
    assert linked is not None and linked.id == "e1"


async def test_confirm_refuses_an_account_another_expert_took_meanwhile(
        chat: FakeChat, app: App) -> None:
    set_phone(app, "e3", "13905720118")
    await chat.say("绑定 13905720118", sender="newbie", single=True)
    e2 = app.store.get_expert("e2")
    assert e2 is not None
    app.store.upsert_expert(replace(e2, accounts=(*e2.accounts, "fake:newbie")), "test")
    [refused] = await chat.say("/专家 确认 fake:newbie", sender="admin")
    assert "账号 fake:newbie 已属于 e2 叶卫东" in refused.text
    owner = app.store.expert_by_account("fake:newbie")
    assert owner is not None and owner.id == "e2"


async def test_admins_are_warned_when_the_expert_already_has_an_account_here(
        chat: FakeChat, app: App) -> None:
    set_phone(app, "e3", "13905720118", accounts=("fake:e3",))
    sent = await chat.say("绑定 13905720118", sender="newbie", single=True)
    assert [s.text for s in sent if s.to_user is None] == [NEUTRAL]
    [ask] = to_admins(sent)
    assert "已绑定账号 fake:e3" in ask.text


async def test_a_number_on_two_experts_is_left_to_the_admins(chat: FakeChat, app: App) -> None:
    set_phone(app, "e3", "13905720118")
    set_phone(app, "e2", "139 0572 0118")
    sent = await chat.say("绑定 13905720118", sender="newbie", single=True)
    assert [s.text for s in sent if s.to_user is None] == [NEUTRAL]
    [ask] = to_admins(sent)
    assert "叶卫东（e2）" in ask.text and "陈水根（e3）" in ask.text
    assert "/专家 绑定" in ask.text
    again = await chat.say("绑定 13905720118", sender="newbie", single=True)
    assert not to_admins(again)  # quiet like any repeat
    [which] = await chat.say("/专家 确认 fake:newbie", sender="admin")
    assert "多位专家" in which.text and "/专家 绑定 编号 fake:newbie" in which.text
    assert app.store.expert_by_account("fake:newbie") is None


async def test_only_admins_who_can_confirm_are_asked(chat: FakeChat, app: App) -> None:
    set_phone(app, "e3", "13905720118")  # 金华市婺城区
    app.store.add_admin("fake:jh", "region:金华", "fake:admin")
    app.store.add_admin("fake:hz", "region:湖州", "fake:admin")
    app.store.add_admin("fake:grp", "group:g1", "fake:admin")
    app.store.add_admin("fake:all", "", "fake:admin")
    sent = await chat.say("绑定 13905720118", sender="newbie", single=True)
    assert sorted(s.to_user or "" for s in to_admins(sent)) == ["admin", "all", "jh"]
