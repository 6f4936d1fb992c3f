"""Routing over the store: the index follows roster changes, loads and history; `diandan route`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import App
from bot.cli import main
from bot.matching import Routing
from storage.records import Expert
from storage.schema import connect
from storage.store import Store
from tests.fakes import T0, FakeChat, FrozenClock, add_expert

WELD = "不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导"


def test_roster_change_from_another_process_updates_the_index(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    store.upsert_expert(Expert("a", "甲", skills=("水产养殖",)), "t")
    routing = Routing(store)
    assert routing.rank(WELD) == []
    other = Store(connect(tmp_path / "r.db"), FrozenClock(T0))  # e.g. `diandan experts import`
    other.upsert_expert(Expert("b", "乙", skills=("焊接变形", "不锈钢焊接")), "cli")
    assert [m.id for m in routing.rank(WELD)] == ["b"]
    other.set_expert_status("b", "paused", "cli")
    assert routing.rank(WELD) == []


def test_load_pushes_a_busy_expert_down(tmp_path: Path) -> None:
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    store.upsert_expert(Expert("a", "甲", skills=("焊接变形",), capacity=1), "t")
    store.upsert_expert(Expert("b", "乙", skills=("焊接变形",), capacity=1), "t")
    routing = Routing(store)
    first = routing.rank(WELD)[0].id
    from storage.records import NewOrder

    no = store.create_order(NewOrder("x", "g", "group", "x:u", "u", WELD), "u").no
    store.claim(no, first, "x")
    ranked = routing.rank(WELD)
    assert ranked[0].id != first and any("已满" in r for r in ranked[-1].reasons)


@pytest.mark.usefixtures("experts")
async def test_empty_roster_tells_the_admins(tmp_path: Path, clock: FrozenClock) -> None:
    from tests.fakes import make_app

    app = make_app(tmp_path / "empty", clock)
    chat = FakeChat(app)
    sent = await chat.say("点单：" + WELD, sender="wu")
    assert "暂未找到专长对口的专家" in sent[0].text and sent[0].mentions == ()
    assert any(s.to_user == "admin" and "/指派 1" in s.text for s in sent)


async def test_completed_orders_teach_the_matcher(app: App, chat: FakeChat) -> None:
    add_expert(app, "g1x", "通才甲", ("设备维修",))
    add_expert(app, "g2x", "通才乙", ("设备维修",))
    text = "点单：冷库压缩机结霜严重，设备维修"
    first = (await chat.say(text, sender="wu"))[0]
    assert {"g1x", "g2x"} <= set(first.mentions)
    await chat.say("接单 1", sender="g2x")
    await chat.say("办结 1 已解决 服务2小时 受益5人", sender="g2x")
    ranked = app.routing.rank("冷库压缩机结霜，需要设备维修")
    assert ranked[0].id == "g2x" and any("曾办结" in r for r in ranked[0].reasons)


def test_route_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.db")
    store = Store(connect(db), FrozenClock(T0))
    store.upsert_expert(Expert("X01", "沈国平", skills=("薄板焊接变形控制",),
                               region="浙江省湖州市德清县"), "t")
    store.upsert_expert(replace(Expert("X02", "金根法", skills=("水产养殖", "溶解氧")),
                                region="浙江省金华市婺城区"), "t")
    store.db.close()
    lines = [{"text": "焊完的框架四个角都翘起来了"}, {"text": "鱼一到凌晨就往水面上冒头",
                                                     "region": "婺城"}, {"text": 5}]
    monkeypatch.setattr(sys, "stdin", iter([json.dumps(x, ensure_ascii=False) + "\n"
                                            for x in lines]))
    assert main(["route", "--db", db, "--top", "1"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert out[0]["experts"][0]["id"] == "X01" and out[0]["experts"][0]["reasons"]
    assert out[1]["experts"][0]["id"] == "X02"
    assert set(out[0]["experts"][0]) == {"id", "name", "score", "reasons", "sure"}  # extended
    assert out[2]["experts"] == [] and "error" in out[2]


async def test_semantic_layer_is_built_off_the_loop_and_swapped_in(tmp_path: Path) -> None:
    from tests.test_match_semantic import ConceptEmbedder

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    store.upsert_expert(Expert("fish", "金根法", skills=("水产养殖",)), "t")
    store.upsert_expert(Expert("law", "林律师", skills=("劳动争议仲裁",)), "t")
    for eid, skill in (("w1", "焊接"), ("w2", "氩弧焊"), ("d1", "变频器"), ("d2", "伺服电气")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    embedder = ConceptEmbedder()
    routing = Routing(store, embedder)
    plain = "厂里把我开了"  # no word of either profile, nor of the symptom lexicon
    assert routing.rank(plain) == [] and embedder.passages == []  # lexical meanwhile
    assert await routing.upgrade() is True
    assert [m.id for m in routing.rank(plain)] == ["law"]
    assert await routing.upgrade() is False  # once is enough
    store.upsert_expert(Expert("fish2", "徐水根", skills=("水产养殖",)), "t")
    assert {m.id for m in routing.rank("水产养殖 鱼塘")} == {"fish", "fish2"}


def _semantic_roster(store: Store) -> None:
    store.upsert_expert(Expert("fish", "金根法", skills=("水产养殖",)), "t")
    store.upsert_expert(Expert("law", "林律师", skills=("劳动争议仲裁",)), "t")
    for eid, skill in (("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")


async def test_an_order_during_the_start_up_build_does_not_wait_for_it(tmp_path: Path) -> None:
    import asyncio
    import threading

    from tests.test_match_semantic import ConceptEmbedder

    release = threading.Event()
    waited_out: list[bool] = []

    class Slow(ConceptEmbedder):
        def embed(self, texts: Sequence[str], *, query: bool = False
                  ) -> Sequence[Sequence[float]]:
            # The model still loading: released by the test once the order was ranked (a
            # loop that waited for the build would have let this time out instead).
            waited_out.append(not release.wait(timeout=10))
            return super().embed(texts, query=query)

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    _semantic_roster(store)
    routing = Routing(store, Slow(), lock=asyncio.Lock())
    building = asyncio.create_task(routing.upgrade())
    await asyncio.sleep(0)  # the build has started in its thread
    assert [m.id for m in routing.rank("水产养殖")] == ["fish"]  # lexical, at once
    assert not building.done() and not release.is_set()
    release.set()
    assert await building is True
    assert [m.id for m in routing.rank("厂里把我开了")] == ["law"]  # semantic from now on
    assert waited_out and not any(waited_out)


async def test_an_incoming_order_waits_a_moment_for_the_start_up_build_then_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's path (Core.handle, before the writer lock) waits for the matcher being built
    rather than build a lexical one beside it, but never longer than BUILD_WAIT."""
    import threading

    from bot import matching
    from tests.test_match_semantic import ConceptEmbedder

    release = threading.Event()

    class Slow(ConceptEmbedder):
        def embed(self, texts: Sequence[str], *, query: bool = False
                  ) -> Sequence[Sequence[float]]:
            release.wait(timeout=10)
            return super().embed(texts, query=query)

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    _semantic_roster(store)
    routing = Routing(store, Slow(), lock=asyncio.Lock())
    building = asyncio.create_task(routing.upgrade())
    await asyncio.sleep(0)
    order = asyncio.create_task(routing.built())
    await asyncio.sleep(0.1)
    assert not order.done()  # waiting for the build, not ranking with a matcher of its own
    release.set()
    await order
    assert building.done() and routing._semantic  # the order meets the semantic matcher
    assert [m.id for m in routing.rank("厂里把我开了")] == ["law"]

    # A build that takes longer than BUILD_WAIT: the order goes on with the words alone.
    monkeypatch.setattr(matching, "BUILD_WAIT", 0.05)
    release.clear()
    slow = Routing(store, Slow(), lock=asyncio.Lock())
    building = asyncio.create_task(slow.upgrade())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await slow.built()
    assert not building.done()
    assert [m.id for m in slow.rank("水产养殖")] == ["fish"]  # lexical, at once
    async with asyncio.timeout(1):
        await slow.built()  # a matcher exists now: no waiting, whatever is being built
    release.set()
    assert await building is True


async def test_after_a_roster_change_the_serving_bot_builds_the_semantic_layer_again(
        tmp_path: Path) -> None:
    from tests.test_match_semantic import ConceptEmbedder

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    _semantic_roster(store)
    routing = Routing(store, ConceptEmbedder())
    routing.background = True
    assert await routing.upgrade() is True
    store.upsert_expert(Expert("law2", "钱律师", skills=("工伤认定",)), "t")
    routing.rank("水产养殖")  # the lexical matcher answers at once after the change
    assert routing.upgrading is not None
    assert await routing.upgrading is True
    assert {m.id for m in routing.rank("厂里把我开了", top=2)} == {"law", "law2"}


async def test_one_thread_at_a_time_embeds_profiles_ahead_of_orders(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading

    from bot.text import match as match_mod
    from tests.test_match_semantic import ConceptEmbedder

    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)  # a big roster: profiles embedded lazily
    entered, release = threading.Event(), threading.Event()

    class Gate(ConceptEmbedder):
        def embed(self, texts: Sequence[str], *, query: bool = False
                  ) -> Sequence[Sequence[float]]:
            if not query:
                entered.set()
                release.wait(timeout=10)
            return super().embed(texts, query=query)

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    _semantic_roster(store)
    embedder = Gate()
    routing = Routing(store, embedder)
    assert await routing.upgrade() is True and embedder.passages == []
    first = asyncio.ensure_future(asyncio.to_thread(routing.warm, "水产养殖 鱼塘"))
    assert await asyncio.to_thread(entered.wait, 10)
    await asyncio.to_thread(routing.warm, "焊接变形")  # does not queue behind the first
    assert not first.done() and "焊接变形" in embedder.queries
    release.set()
    await first
    assert "水产养殖" in embedder.passages and "焊接" not in embedder.passages


async def test_a_big_roster_is_rebuilt_in_a_thread_after_a_change(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.matching as matching

    monkeypatch.setattr(matching, "REBUILD_OFF_LOOP", 2)
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    _semantic_roster(store)  # four experts: "big" here
    routing = Routing(store)
    routing.background = True
    assert [m.id for m in routing.rank("水产养殖")] == ["fish"]
    other = Store(connect(tmp_path / "r.db"), FrozenClock(T0))  # an import in another process
    other.upsert_expert(Expert("fish2", "徐水根", skills=("水产养殖",)), "cli")
    assert [m.id for m in routing.rank("水产养殖")] == ["fish"]  # the current index, at once
    assert routing.upgrading is not None
    assert await routing.upgrading is True
    assert {m.id for m in routing.rank("水产养殖")} == {"fish", "fish2"}
    routing.background = False  # e.g. the CLI: rebuilt where it stands
    other.upsert_expert(Expert("fish3", "钱阿根", skills=("水产养殖",)), "cli")
    assert {m.id for m in routing.rank("水产养殖")} == {"fish", "fish2", "fish3"}


async def test_a_failing_model_leaves_routing_lexical(tmp_path: Path) -> None:
    class Broken:
        def embed(self, texts: object, *, query: bool = False) -> list[list[float]]:
            raise RuntimeError("native library crashed")

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    store.upsert_expert(Expert("b", "乙", skills=("焊接变形",)), "t")
    routing = Routing(store, Broken())
    assert await routing.upgrade() is False
    assert [m.id for m in routing.rank(WELD)] == ["b"]


async def test_prefetch_embeds_an_order_before_the_lock(tmp_path: Path) -> None:
    from bot.text.match_embed import CachedEmbedder
    from tests.test_match_semantic import ConceptEmbedder

    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    for eid, skill in (("law", "劳动争议仲裁"), ("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    embedder = ConceptEmbedder()
    routing = Routing(store, CachedEmbedder(embedder))
    await routing.prefetch("厂里把我开了")
    assert embedder.queries == []  # not semantic yet: nothing to do
    await routing.upgrade()
    await routing.prefetch("厂里把我开了")
    assert embedder.queries == ["厂里把我开了"]
    order = "点单：厂里把我开了，工资也不给，联系人吴经理 13867201234，下周三前"
    await routing.prefetch(order)  # the text the ranking will embed: found in the cache after
    routing.rank(order)
    assert embedder.queries == ["厂里把我开了", "厂里把我开了，工资也不给"]


async def test_a_serving_bot_embeds_a_big_roster_in_the_background(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.matching as matching
    import bot.text.match as match_mod
    from bot.text.match_embed import CachedEmbedder
    from tests.test_match_semantic import ConceptEmbedder

    monkeypatch.setattr(match_mod, "EAGER_EMBED", 1)  # three experts make a big roster here
    monkeypatch.setattr(matching, "WARM_BATCH", 2)  # two steps
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    for eid, skill in (("law", "劳动争议仲裁"), ("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    embedder = ConceptEmbedder()
    routing = Routing(store, CachedEmbedder(embedder))
    routing.background = True  # as App.serve sets it
    assert await routing.upgrade()
    assert not embedder.passages  # a big roster is not embedded while it is indexed
    assert routing.warming is not None and await routing.warming == 3
    texts = set(embedder.passages)
    assert {"劳动争议仲裁", "焊接", "变频器"} <= texts
    assert store.db.execute("SELECT COUNT(*) FROM embedding_cache").fetchone()[0] == len(texts)

    # The next start takes them from the database: one text embedded to check them, no more.
    model = ConceptEmbedder()
    again = Routing(store, CachedEmbedder(model))
    assert await again.upgrade()
    assert len(model.passages) == 1
    assert again.warming is None and again._matcher is not None and again._matcher.warm() == 0


async def test_a_model_failing_in_the_background_leaves_routing_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import bot.text.match as match_mod
    from tests.test_match_semantic import ConceptEmbedder

    class Failing(ConceptEmbedder):
        def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[
                Sequence[float]]:
            if not query:
                raise RuntimeError("native engine gone")
            return super().embed(texts, query=query)

    monkeypatch.setattr(match_mod, "EAGER_EMBED", 1)
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    for eid, skill in (("law", "劳动争议仲裁"), ("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    routing = Routing(store, Failing(), lock=asyncio.Lock())  # as the serving bot makes it
    routing.background = True
    assert await routing.upgrade()
    assert routing.warming is not None and await routing.warming == 0  # no exception escapes
    assert "stopped" in caplog.text and not routing.roster_warming()
    assert [m.id for m in routing.rank("焊缝有气孔")][:1] == ["w1"]  # the words still route


async def test_orders_are_embedded_on_as_many_threads_as_cores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import bot.matching as matching
    from bot.text.match_embed import CachedEmbedder
    from tests.test_match_semantic import ConceptEmbedder

    class Where(ConceptEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.threads: set[str] = set()

        def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[
                Sequence[float]]:
            if query:
                self.threads.add(threading.current_thread().name)
            return super().embed(texts, query=query)

    monkeypatch.setattr(matching, "EMBED_THREADS", 2)
    monkeypatch.setattr(matching, "_embed_pool", None)  # made again with two threads
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    for eid, skill in (("law", "劳动争议仲裁"), ("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    embedder = Where()
    routing = Routing(store, CachedEmbedder(embedder))
    assert await routing.upgrade()
    await asyncio.gather(*(routing.prefetch(f"第{i}台焊机焊缝有气孔") for i in range(8)))
    assert len(embedder.queries) == 8
    # More threads at once would only share the cores (and each keep its working memory).
    assert 1 <= len(embedder.threads) <= 2
    assert all(name.startswith("embed") for name in embedder.threads)


async def test_orders_leave_a_big_rosters_profiles_to_the_background(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.text.match as match_mod
    from bot.text.match_embed import CachedEmbedder
    from tests.test_match_semantic import ConceptEmbedder

    monkeypatch.setattr(match_mod, "EAGER_EMBED", 1)
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    for eid, skill in (("law", "劳动争议仲裁"), ("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    embedder = ConceptEmbedder()
    routing = Routing(store, CachedEmbedder(embedder))
    assert await routing.upgrade()  # not serving: no background embedding
    gate = asyncio.Event()

    async def at_work() -> int:  # as warm_roster while it runs
        await gate.wait()
        return 0

    routing.warming = asyncio.create_task(at_work())
    assert routing.roster_warming()
    await routing.prefetch("焊缝有气孔")
    assert embedder.queries == ["焊缝有气孔"] and embedder.passages == []
    gate.set()  # done (or never begun): the order embeds its likeliest
    await routing.warming
    assert not routing.roster_warming()
    await routing.prefetch("焊缝有气孔")
    assert "焊接" in embedder.passages


def test_big_rosters_stay_lexical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.matching as matching
    from tests.test_match_semantic import ConceptEmbedder

    monkeypatch.setattr(matching, "SEMANTIC_MAX_EXPERTS", 2)
    store = Store(connect(tmp_path / "r.db"), FrozenClock(T0))
    for eid, skill in (("law", "劳动争议仲裁"), ("w1", "焊接"), ("d1", "变频器")):
        store.upsert_expert(Expert(eid, eid, skills=(skill,)), "t")
    embedder = ConceptEmbedder()
    routing = Routing(store, embedder, eager=True)
    assert routing.rank("厂里把我开了") == [] and embedder.passages == []
