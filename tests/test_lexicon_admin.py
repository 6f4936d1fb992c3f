"""Admins teach the matcher their trades: `diandan lexicon add`, the dashboard's 专长词库 page;
the next recommendation reads what they added."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.app import App
from bot.cli import main
from bot.matching import Routing
from storage.records import Expert
from tests.test_dashboard import TOKEN, Client, _csrf, client, login_url, seeded

__all__ = ["client", "seeded"]  # the dashboard's fixtures, used here by name


def test_cli_adds_and_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "l.db")
    assert main(["lexicon", "add", "--db", db, "--name", "汽轮机振动", "--term", "轴系振动",
                 "--symptom", "机组一带负荷就抖", "--symptom", "轴承箱震手"]) == 0
    assert "已添加：汽轮机振动" in capsys.readouterr().out
    assert main(["lexicon", "add", "--db", db, "--name", "汽轮机振动",
                 "--symptom", "开机过临界转速晃得厉害"]) == 0  # adds to what it had
    capsys.readouterr()
    assert main(["lexicon", "list", "--db", db, "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)["entries"]
    assert entry["terms"] == ["轴系振动"] and len(entry["symptoms"]) == 3


def test_cli_refuses_an_empty_addition(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    assert main(["lexicon", "add", "--db", str(tmp_path / "l.db"), "--name", "空"]) != 0
    assert "请至少写一条" in capsys.readouterr().err


async def test_the_dashboard_adds_for_unscoped_admins_only(seeded: App, client: Client) -> None:
    page = await (await client.get("/admin/lexicon", params={"token": TOKEN})).text()
    assert "专长词库" in page
    bad = await client.post("/admin/lexicon", data={"_csrf": _csrf(page), "name": "冷库"})
    assert bad.status == 400 and "请至少写一条" in await bad.text()
    ok = await client.post("/admin/lexicon", allow_redirects=False, data={
        "_csrf": _csrf(page), "name": "氨制冷", "terms": "氨制冷系统",
        "symptoms": "冷库那根管子有股氨味\n压缩机一开就跳"})
    assert ok.status == 303
    assert seeded.store.lexicon_entries() == [
        ("氨制冷", "", ("氨制冷系统",), ("冷库那根管子有股氨味", "压缩机一开就跳"))]
    assert [e.kind for e in seeded.store.events(kind="lexicon.added")] == ["lexicon.added"]


async def test_a_regional_admin_cannot_change_the_shared_lexicon(seeded: App,
                                                                 client: Client) -> None:
    seeded.store.add_admin("fake:hz", "region:湖州", "fake:admin")
    link = urlsplit(login_url(seeded, "fake:hz", "lexicon"))
    page = await (await client.get(f"{link.path}?{link.query}")).text()
    assert "专长词库" in page
    refused = await client.post("/admin/lexicon", data={
        "_csrf": _csrf(page), "name": "氨制冷", "symptoms": "冷库有氨味"})
    assert refused.status == 403 and seeded.store.lexicon_entries() == []


class Recording:
    """An embedder that remembers every passage it was given."""

    def __init__(self) -> None:
        self.passages: list[str] = []

    def embed(self, texts: Sequence[str], *, query: bool = False) -> list[list[float]]:
        if not query:
            self.passages.extend(texts)
        return [[1.0, float(len(t) % 7)] for t in texts]


async def test_what_admins_add_widens_the_profiles_at_once(app: App) -> None:
    app.store.upsert_expert(Expert("e1", "沈国平", skills=("氨制冷系统安全",)), "t")
    app.store.upsert_expert(Expert("e2", "叶卫东", skills=("变频器",)), "t")
    embedder = Recording()
    routing = Routing(app.store, embedder, eager=True)
    routing.rank("冷库有氨味")
    assert not any("冷库那根管子有股氨味" in p for p in embedder.passages)
    app.store.add_lexicon("氨制冷", ("氨制冷系统",), ("冷库那根管子有股氨味",), "fake:admin")
    routing.rank("冷库有氨味")  # the next recommendation rebuilds with it
    assert any("冷库那根管子有股氨味" in p for p in embedder.passages)


def test_import_names_the_specialties_the_lexicon_does_not_know(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("编号,姓名,手机,地区,专长\n"
                      "X01,甲,13800000001,德清,焊接变形控制\n"
                      "X02,乙,13800000002,德清,咕噜咕噜术\n", encoding="utf-8")
    db = str(tmp_path / "r.db")
    assert main(["experts", "import", "--db", db, str(roster)]) == 0
    out = capsys.readouterr().out
    assert "1 项专长词库里还没有对应的说法（如 咕噜咕噜术）" in out
    add = ["lexicon", "add", "--db", db, "--name", "咕噜咕噜术", "--symptom", "肚子咕噜响"]
    assert main(add) == 0
    assert main(["experts", "import", "--db", db, "--json", str(roster)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["unknown_specialties"] == 0
