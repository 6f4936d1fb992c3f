"""Security: every admin command refuses non-admins, and changes nothing when it does."""

from __future__ import annotations

import pytest

from bot.app import App
from handlers import ROUTERS
from tests.fakes import FakeChat

ADMIN_COMMANDS = sorted({name for r in ROUTERS for route in r.routes if route.kind == "command"
                         for name in route.names})


def test_every_admin_command_has_a_chinese_and_an_english_name() -> None:
    for r in ROUTERS:
        for route in r.routes:
            if route.kind == "command":
                assert any(n.isascii() for n in route.names), route.names
                assert any(not n.isascii() for n in route.names), route.names
                assert route.help.startswith("/"), route.help


@pytest.mark.usefixtures("experts")
@pytest.mark.parametrize("name", ADMIN_COMMANDS)
async def test_admin_commands_refuse_everyone_else(chat: FakeChat, app: App, name: str) -> None:
    await chat.say("点单：焊接变形严重，请师傅指导", sender="c1")
    before = len(app.store.events())
    for sender in ("c1", "e1", "stranger"):
        [reply] = await chat.say(f"/{name} 1 e1 原因", sender=sender)
        assert reply.text == f"只有管理员可以使用 /{name}"
    assert len(app.store.events()) == before  # nothing changed, nothing was logged as done
    [help_] = await chat.say("帮助", sender="c1")
    assert f"/{name}" not in help_.text
