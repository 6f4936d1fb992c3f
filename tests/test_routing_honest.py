"""When nobody fits an order well, the bot says so in the group and asks the admins, naming
the closest experts; it never @-mentions an expert it is unsure of."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.app import App
from bot.matching import Suggestion
from tests.fakes import FakeChat, add_expert

ORDER = "点单：游艇玻璃钢船体糊制气泡多，想请专家来看看，联系人吴经理 13867201234"


@pytest.fixture
def unsure(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    add_expert(app, "e2", "叶卫东", ("变频器", "电气"))
    real = app.routing.suggest

    def weak(*args: object, **kwargs: object) -> list[Suggestion]:
        return [replace(s, sure=False) for s in real(*args, **kwargs)]  # type: ignore[arg-type]

    monkeypatch.setattr(app.routing, "suggest", weak)


@pytest.mark.usefixtures("unsure")
async def test_an_unsure_match_goes_to_the_admins_not_to_the_group(chat: FakeChat,
                                                                   app: App) -> None:
    replies = await chat.say(ORDER.replace("游艇玻璃钢船体糊制气泡多", "焊缝有气泡"), sender="wu")
    [group] = [r for r in replies if r.chat == "g1" and "#1" in r.text]
    assert "暂未找到专长对口的专家" in group.text and group.mentions == ()
    [admin] = [r for r in replies if r.to_user == "admin"]
    assert "最接近的" in admin.text and "沈国平（e1）" in admin.text
    order = app.store.get_order(1)
    assert order is not None and order.announced == ()


async def test_a_sure_match_is_announced_as_before(chat: FakeChat, app: App) -> None:
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    replies = await chat.say("点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导", sender="wu")
    [group] = [r for r in replies if r.chat == "g1" and "#1" in r.text]
    assert "e1" in group.mentions and "暂未找到" not in group.text


async def test_an_order_nobody_fits_tells_the_admins_why_without_blaming_the_roster(
        chat: FakeChat, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """Experts are on the roster and free, but none is near the order: the admins are not
    told that the roster is empty or full."""
    add_expert(app, "e1", "沈国平", ("焊接", "焊接变形"))
    monkeypatch.setattr(app.routing, "suggest", lambda *a, **k: [])
    replies = await chat.say(ORDER, sender="wu")
    [admin] = [r for r in replies if r.to_user == "admin"]
    assert "人工派单" in admin.text and "专长相近" in admin.text
    assert "专家库为空" not in admin.text


def test_a_county_roster_needs_a_little_less_to_be_sure_than_a_pool_of_thousands() -> None:
    from bot.text.match_fusion import is_sure

    # A best skill score of 1.35 with a close embedding, over a county's 72 experts: sure;
    # standardised over the pool of a roster of thousands: still hedged.
    assert is_sure(1.35, 0.91, 0.2, 72)
    assert not is_sure(1.35, 0.91, 0.2, 600, pooled=True)
    assert is_sure(1.45, 0.91, 0.2, 600, pooled=True)
    assert not is_sure(1.25, 0.91, 0.2, 72)
    assert not is_sure(1.35, 0.85, 0.05, 72)  # neither the embedding nor the words say much
