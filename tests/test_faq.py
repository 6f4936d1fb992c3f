"""Common questions get an answer from the FAQ data file, which admins may replace."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import App
from bot.text import faq
from tests.fakes import FakeChat


@pytest.mark.parametrize(("question", "word"), [
    ("请问你们这个服务收费吗", "不收取任何费用"),
    ("我也是高级技师，怎么报名当志愿专家？", "绑定 手机号"),
    ("点错了，怎么撤销啊", "撤销 单号"),
    ("新来的，请问怎么点单", "点单：问题描述"),
])
async def test_common_questions_are_answered(chat: FakeChat, question: str, word: str) -> None:
    [answer] = await chat.say(question, sender="wu")
    assert word in answer.text


async def test_an_admins_own_file_replaces_the_packaged_one(chat: FakeChat, app: App,
                                                            tmp_path: Path) -> None:
    mine = tmp_path / "faq.toml"
    mine.write_text('[[faq]]\nask = ["停车"]\nanswer = "工会大楼东侧可以停车。"\n',
                    encoding="utf-8")
    app.config = replace(app.config, bot=replace(app.config.bot, faq_file=str(mine)))
    [answer] = await chat.say("上门的话停车方便吗", sender="wu")
    assert answer.text == "工会大楼东侧可以停车。"
    [other] = await chat.say("收费吗", sender="wu")
    assert "不收取" not in other.text  # only the admin's own entries count now


def test_a_broken_file_means_no_answers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[faq]\nask = ", encoding="utf-8")
    assert faq.answer("收费吗", str(bad)) is None
    assert faq.answer("收费吗") is not None
