"""Hard cases of reading (blind set 22): a new matter after thanks, a rare surname, a vendor's
hotline beside the contact's mobile, a worker's own need introduced by where they work."""

from __future__ import annotations

from datetime import datetime

from bot.model import SHANGHAI
from bot.text.parse import parse

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)


def test_a_new_matter_after_thanks_for_an_earlier_order_is_an_order() -> None:
    p = parse("上次#9那个水泵的问题，周师傅电话里指导一下就好了，谢谢！这次又遇到个新问题：车间行车"
              "刹车打滑，维修工看了两次还是不行。联系人小吴 13705761234", NOW)
    assert p.is_request and p.contact == "小吴" and p.phone == "13705761234"
    thanks = parse("上次#9那个水泵的问题，周师傅电话里指导一下就好了，谢谢！", NOW)
    assert not thanks.is_request


def test_a_rare_zhejiang_surname_is_a_contact() -> None:
    p = parse("点单，诸暨一家袜厂，定型机温控老是飘。联系人 郦工 电话13957512345", NOW)
    assert p.contact == "郦工"
    assert parse("点单，杭州湾新区一家厂，注塑机保压不稳。联系人王工 13957512345",
                 NOW).contact == "王工"  # 杭州 stays a place


def test_a_vendors_hotline_gives_way_to_the_contacts_number() -> None:
    p = parse("售后400-826-1234打了一周没人理，只好找你们。武义一家电动工具厂，绕线机断线频繁，"
              "联系人老汤 13867991234", NOW)
    assert p.phone == "13867991234" and "400-826-1234" in p.phones
    assert parse("点单 冷库不制冷 请联系 400-826-1234", NOW).phone == "400-826-1234"


def test_a_worker_who_says_where_they_work_and_leaves_a_number_asks_for_themselves() -> None:
    p = parse("我在永康一家保温杯厂做抛光，老板拖着两个月工资没发，这种情况能找律师咨询一下吗？"
              "我叫应小芳，电话15867912345", NOW)
    assert p.is_request and p.phone == "15867912345"
    assert not parse("我在开会，晚点回你", NOW).is_request
