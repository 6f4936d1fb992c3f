"""NgramIndex: compact storage keeps the scores, order and incremental updates of a plain model."""

from __future__ import annotations

import math
import random

import pytest

from bot.text import match_ngram
from bot.text.match_ngram import NgramIndex, grams, sublinear

WORDS = ["焊接", "不锈钢", "变形", "氩弧焊", "管道", "鱼塘", "增氧", "水泵", "电机", "变频器",
         "PLC", "注塑", "模具", "数控", "机床", "锅炉", "节能", "茶叶", "病虫害", "光伏"]


class Plain:
    """The index as plain dicts with every norm fresh: what search must give after refresh().

    Results come in the order documents are first met: query grams in order, then each
    gram's documents in the order they were added."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, float]] = {}

    def add(self, key: str, counts: dict[str, float]) -> None:
        self.docs.pop(key, None)
        self.docs[key] = sublinear(counts)

    def idf(self, g: str) -> float:
        df = sum(1 for v in self.docs.values() if g in v)
        return math.log((len(self.docs) + 1.0) / (df + 0.5))

    def search(self, query: dict[str, float], max_df: float = 1.0, min_len: int = 1,
               known_only: bool = False) -> dict[str, float]:
        limit = max(50, int(max_df * len(self.docs)))
        q_norm = 0.0
        scores: dict[str, float] = {}
        for g, qw in query.items():
            df = sum(1 for v in self.docs.values() if g in v)
            idf = self.idf(g)
            if (known_only and not df) or idf <= 0.0:
                continue
            q_norm += (qw * idf) ** 2
            if not df or df > limit or len(g) < min_len:
                continue
            for k, v in self.docs.items():
                if g in v:
                    scores[k] = scores.get(k, 0.0) + qw * idf * idf * v[g]
        q_len = math.sqrt(q_norm) or 1.0
        out = {}
        for k, s in scores.items():
            norm = math.sqrt(sum((w * self.idf(g)) ** 2 for g, w in self.docs[k].items()))
            out[k] = s / (q_len * (norm or 1.0))
        return out


def _text(rnd: random.Random) -> str:
    return "，".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 4)))


def _same(got: dict[str, float], want: dict[str, float]) -> None:
    assert list(got) == list(want)
    assert got == pytest.approx(want, rel=1e-12)


def test_identical_document_scores_one_and_unrelated_is_absent() -> None:
    ix: NgramIndex[str] = NgramIndex()
    ix.add_many([("a", grams("不锈钢焊接变形")), ("b", grams("鱼塘增氧")), ("c", grams("电机"))])
    res = ix.search(sublinear(grams("不锈钢焊接变形")))
    assert res["a"] == pytest.approx(1.0)
    assert "b" not in res and "c" not in res
    assert len(ix) == 3 and "b" in ix and "z" not in ix


def test_idf_doc_and_remove() -> None:
    ix: NgramIndex[tuple[str, int]] = NgramIndex()
    ix.add(("E1", 0), grams("焊接焊接"))
    ix.add(("E2", 0), grams("焊接"))
    assert ix.idf("焊接") == pytest.approx(math.log(3.0 / 2.5))
    assert ix.idf("没有") == pytest.approx(math.log(3.0 / 0.5))
    assert ix.doc(("E1", 0))["焊接"] == pytest.approx(1.0 + math.log(2.0))
    assert ix.doc(("E9", 0)) == {}
    ix.remove(("E1", 0))
    ix.remove(("E1", 0))  # absent: no-op
    assert len(ix) == 1 and ("E1", 0) not in ix
    assert ix.idf("焊接") == pytest.approx(math.log(2.0 / 1.5))
    assert list(ix.search({"焊接": 1.0})) == [("E2", 0)]
    ix.remove(("E2", 0))
    assert ix.search({"焊接": 1.0}) == {} and ix.idf("焊") == pytest.approx(math.log(2.0))


def test_readded_key_moves_last_and_takes_new_text() -> None:
    ix: NgramIndex[str] = NgramIndex()
    for k in "abc":
        ix.add(k, grams("水泵电机"))
    ix.add("a", grams("水泵电机变频器"))
    ix.refresh()
    res = ix.search(sublinear(grams("水泵")))
    assert list(res) == ["b", "c", "a"]
    assert "变频器" in ix.doc("a") and res["a"] < res["b"]


def test_gram_ids_are_reused_without_mixing_postings() -> None:
    ix: NgramIndex[str] = NgramIndex()
    ix.add("a", grams("茶叶"))
    ix.remove("a")
    ix.add("b", grams("光伏"))
    ix.add("c", grams("茶叶"))
    assert list(ix.search({"光伏": 1.0})) == ["b"]
    assert list(ix.search({"茶叶": 1.0})) == ["c"]
    assert ix.doc("b") == pytest.approx(sublinear(grams("光伏")))


@pytest.mark.parametrize("min_dead", [3, 1024])
def test_churn_matches_plain_model(monkeypatch: pytest.MonkeyPatch, min_dead: int) -> None:
    monkeypatch.setattr(match_ngram, "_MIN_DEAD", min_dead)  # small: renumber often
    rnd = random.Random(min_dead)
    ix: NgramIndex[str] = NgramIndex()
    ref = Plain()
    first = [(f"k{i}", grams(_text(rnd))) for i in range(40)]
    ix.add_many(first)
    for k, c in first:
        ref.add(k, c)
    for step in range(400):
        key = f"k{rnd.randrange(60)}"
        if rnd.random() < 0.35:
            ix.remove(key)
            ref.docs.pop(key, None)
        else:
            counts = grams(_text(rnd))
            ix.add(key, counts)
            ref.add(key, counts)
        assert len(ix) == len(ref.docs)
        if step % 25 == 0:
            ix.refresh()
            q = sublinear(grams(_text(rnd) + "，不锈钢"))
            _same(ix.search(q), ref.search(q))
            _same(ix.search(q, 0.2, 2), ref.search(q, 0.2, 2))
            _same(ix.search(q, known_only=True), ref.search(q, known_only=True))
            for g in ("焊", "不锈钢", "PLC".lower(), "无此"):
                assert ix.idf(g) == pytest.approx(ref.idf(g), rel=1e-12)
            for k, v in ref.docs.items():
                assert ix.doc(k) == pytest.approx(v)


def test_norm_of_added_document_uses_idf_at_add_time() -> None:
    ix: NgramIndex[str] = NgramIndex()
    ix.add_many([("a", grams("锅炉节能")), ("b", grams("锅炉"))])
    ix.add("c", grams("锅炉节能"))
    before = ix.search({"锅炉": 1.0, "节能": 1.0})
    ix.refresh()
    after = ix.search({"锅炉": 1.0, "节能": 1.0})
    assert before["c"] == after["c"]  # same document frequencies as at its add
    assert before["a"] != pytest.approx(after["a"])  # stale until refresh()
    assert after["a"] == pytest.approx(after["c"])


def test_grams_no_document_holds_free_their_slots() -> None:
    ix: NgramIndex[int] = NgramIndex()
    ix.add(0, grams("焊接"))
    for i in range(1, 30):
        ix.add(i, grams(WORDS[i % len(WORDS)] + str(i) + "x"))
        ix.remove(i)
    biggest = max(len(grams(w + "1x")) for w in WORDS)
    assert len(ix._gram) <= 3 + biggest  # the kept document's grams and one removed's worth
    assert list(ix.search({"焊接": 1.0})) == [0]
