"""Towns and streets (乡镇/街道, bot/data/towns.csv) read as their county in orders."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.model import SHANGHAI
from bot.text.match_region import Region, default_gazetteer
from bot.text.parse import parse
from bot.text.regions import find_region, town_names

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(("text", "region"), [
    # a town right after its county's short name, which alone is also a common word
    ("普陀东港一家水产加工厂制冷机组坏了，想请师傅来看看，联系人陈工 13857312345",
     "浙江省舟山市普陀区"),
    ("江山清湖一家木门厂封边机跑偏，有没有师傅能帮忙调一下，老周 13957012345",
     "浙江省衢州市江山市"),
    ("普陀桃花岛民宿的污水处理设备出问题了，求懂行的师傅，联系我 13605801234",
     "浙江省舟山市普陀区"),
    # the full name of a street, and a bare name that is unique and no common word
    ("我们厂在东港街道，注塑机液压站漏油，找个师傅 13857312345", "浙江省舟山市普陀区"),
    ("清湖这边一家食品厂灌装线卡瓶，求助，13957012345", "浙江省衢州市江山市"),
])
def test_a_town_names_its_county(text: str, region: str) -> None:
    assert parse(text, NOW).region == region


@pytest.mark.parametrize("text", [
    "桃花开了，厂里空压机老是跳闸，想请师傅看看，13857312345",  # 桃花: a flower
    "我们在搞技术开发，中心机房空调坏了，求助 13857312345",  # 开发, 中心
    "城关那边有人吗，设备出故障了 13857312345",  # 城关: a part of every county town
])
def test_a_common_word_is_no_region(text: str) -> None:
    assert parse(text, NOW).region is None


def test_a_town_outside_the_city_named_is_not_taken() -> None:
    # 清湖 is a street of 江山 (衢州); named with 湖州 the message means a place in 湖州
    assert find_region("湖州清湖那边一家厂") == "浙江省湖州市"


def test_a_town_after_zhejiang_is_a_firms_name() -> None:
    # 云峰 is a street of 遂昌, but 浙江云峰阀门有限公司 is a registered firm name
    assert find_region("我们是丽水的浙江云峰阀门有限公司") == "浙江省丽水市"


def test_routing_reads_a_town_as_its_county() -> None:
    gaz = default_gazetteer()
    assert gaz.find("三门健跳 吴船东 13586212345") == Region("浙江省", "台州市", "三门县")
    assert gaz.find("普陀东港一家厂") == Region("浙江省", "舟山市", "普陀区")
    assert gaz.find("金华盈丰餐饮管理") == Region("浙江省", "金华市")  # 盈丰 is in 萧山


def test_common_and_ambiguous_bare_forms_are_left_out() -> None:
    names = town_names()
    assert names["东港街道"] == "浙江省舟山市普陀区" and names["清湖"] == "浙江省衢州市江山市"
    for word in ("城关", "城东", "新城", "东城", "中心", "开发", "长安", "大同", "桃花"):
        assert word not in names
    assert "江山" not in names and "普陀" not in names  # county names stay the gazetteer's
