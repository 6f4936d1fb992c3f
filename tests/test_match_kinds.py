"""The taxonomy entry whose plain words an order shares counts for the experts it widens."""

from __future__ import annotations

import pytest

from bot.text import match_fusion
from bot.text.match import ExpertProfile, Matcher
from bot.text.match_lexicon import Lexicon
from bot.text.match_taxonomy import CLOSEST, Entry, Taxonomy
from tests.test_match_semantic import ConceptEmbedder, ids

WAGES = Entry("劳动争议调解", "法律", ("劳动争议", "欠薪维权"),
              ("工资拖着不发", "干了活拿不到钱", "老板跑了找不到人"), ("想找人问问怎么讨回来",))
FISH = Entry("鱼塘增氧", "农业", ("增氧机", "水产养殖"), ("塘里的鱼一到凌晨就浮头",))
WELD = Entry("薄板焊接变形", "焊接", ("焊接变形",), ("薄板焊完就翘起来", "焊缝边上鼓包"))
TAX = Taxonomy([WAGES, FISH, WELD])


def test_an_order_in_plain_words_finds_the_entry_that_tells_it() -> None:
    found = TAX.closest("我们二十几个人干了活拿不到钱，老板跑了")
    assert next(iter(found)) == "劳动争议调解"
    assert found["劳动争议调解"] > found.get("鱼塘增氧", 0.0)
    assert TAX.closest("今天天气不错，大家注意防暑") == {}  # nothing shared worth the name
    assert len(TAX.closest("鱼塘的鱼浮头，薄板焊完就翘，工资拖着不发")) <= CLOSEST


# No profile below shares a character with the order, and the embedder gives every text
# the same vector: only the entry the lawyer's specialty names can tell them apart.
ROSTER = (
    ExpertProfile(id="K0", name="钱立新", skills=("企业合规咨询",), tags=(), region="浙江省杭州市"),
    ExpertProfile(id="K1", name="孙文静", skills=("欠薪维权",), tags=(), region="浙江省杭州市"),
    ExpertProfile(id="K2", name="周海波", skills=("数控车床编程",), tags=(), region="浙江省杭州市"),
)
ORDER = "干了活拿不到钱已经三个月，厂门也锁了"


def test_the_entry_an_order_tells_brings_its_experts_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    m = Matcher(ROSTER, lexicon=Lexicon({}), embedder=ConceptEmbedder(), taxonomy=TAX)
    assert ids(m.rank(ORDER))[:1] == ["K1"]
    monkeypatch.setattr(match_fusion, "W_KIND", 0.0)
    assert m.rank(ORDER) == []  # without it nothing sets anyone apart


def test_an_order_no_entry_tells_is_ranked_as_before() -> None:
    with_tax = Matcher(ROSTER, lexicon=Lexicon({}), embedder=ConceptEmbedder(), taxonomy=TAX)
    assert with_tax.rank("数控车床的程序跑一半就报警") == Matcher(
        ROSTER, lexicon=Lexicon({}), embedder=ConceptEmbedder(), taxonomy=Taxonomy([])).rank(
        "数控车床的程序跑一半就报警")


def test_a_semantic_matcher_builds_the_entries_index_where_it_is_built() -> None:
    tax = Taxonomy([WAGES, FISH])
    Matcher(ROSTER, lexicon=Lexicon({}), embedder=None, taxonomy=tax)
    assert tax._passages is None  # a lexical matcher never reads it
    Matcher(ROSTER, lexicon=Lexicon({}), embedder=ConceptEmbedder(), taxonomy=tax)
    built = tax._passages
    assert built is not None  # built with the semantic index, not on an order's first use
    assert tax.prepare() is built


def test_taxonomies_with_the_same_passages_share_one_index() -> None:
    first, again = Taxonomy([WAGES, FISH]), Taxonomy([WAGES, FISH])
    assert first.prepare() is again.prepare()  # a roster reload does not build it anew
    assert Taxonomy([WAGES]).prepare() is not first.prepare()
