"""DingTalk card parts without a network: what a card holds, its ids, presses, order states."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

from bot.model import SHANGHAI
from bot.platforms.dingtalk_cards import (
    Press,
    callback_answer,
    card_params,
    deliver_body,
    order_status,
    out_track_id,
    parse_press,
    refused_deliveries,
    shown_buttons,
    track_matches,
)
from storage.records import Order, OrderState
from tests.doubles_dingtalk_cards import shown_text

AT = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)
BUTTONS = (("接单", "接单 12"), ("协助", "协助 12"), ("查询", "查询 12"))
ORDER = Order(no=12, created_at=AT, updated_at=AT, state=OrderState.OPEN, platform="dingtalk",
              chat_id="cid1", chat_kind="group", requester="dingtalk:wu", requester_name="吴经理",
              text="点单：焊接变形", summary=None, enterprise=None, contact=None, phone=None,
              deadline=None, urgent=False, category=None, service_type=None, region=None,
              menu_no=None, lead=None, claimed_at=None)


def test_a_card_shows_the_text_as_it_is_and_its_buttons_by_index() -> None:
    text = "#12 已收到\n*重要* [点我](http://evil) <b>x</b>\n- 第一条\n1. 第二条"
    params = card_params(text, [(0, "接单"), (2, "查询")], status="已由沈国平接单")
    assert all(isinstance(v, str) for v in params.values())  # cardParamMap takes strings
    assert params["flowStatus"] == "3" and params["msgTitle"] == "#12 已收到"
    shown = shown_text(params["staticMsgContent"])
    assert shown == "*重要* [点我](http://evil) <b>x</b>\n- 第一条\n1. 第二条\n\n已由沈国平接单"
    assert "\\[点我\\](http" in params["staticMsgContent"]  # no link, no markup: escaped
    assert "\n1\\. 第二条" in params["staticMsgContent"] and "\n\\- 第一条" in params[
        "staticMsgContent"]
    full = json.loads(params["sys_full_json_obj"])
    assert full["order"] == ["msgTitle", "staticMsgContent", "msgButtons"]
    assert [(b["text"], b["id"], b["request"], b["params"]) for b in full["msgButtons"]] == [
        ("接单", "ddbtn0", True, {"button": "0"}), ("查询", "ddbtn2", True, {"button": "2"})]
    one_line = card_params("目前没有待接单的点单。", [])
    assert one_line["msgTitle"] == "" and json.loads(one_line["sys_full_json_obj"])[
        "order"] == ["staticMsgContent"]


def test_the_track_id_is_keyed_to_the_item_and_its_time() -> None:
    track = out_track_id(7, AT, "secret")
    assert track == out_track_id(7, AT, "secret") and track.startswith("dd7-")
    assert track_matches(track, 7, AT, "secret")
    assert not track_matches(track, 7, AT.replace(minute=1), "secret")  # another database
    assert not track_matches(track, 8, AT, "secret")
    assert not track_matches(track, 7, AT, "other secret")
    assert not track_matches("dd7-" + "0" * 20, 7, AT, "secret")


def test_presses_are_read_from_the_action_id_or_its_params() -> None:
    base = {"outTrackId": "dd7-" + "a" * 20, "userId": "staff-1", "type": "actionCallback"}
    by_id = {**base, "content": json.dumps({"cardPrivateData": {"actionIds": ["ddbtn1"]}})}
    by_params = {**base, "content": {"cardPrivateData": {"params": {"button": "2"}}}}
    assert parse_press(by_id) == Press(base["outTrackId"], "staff-1", 1)
    assert parse_press(by_params) == Press(base["outTrackId"], "staff-1", 2)
    for bad in ({**by_id, "type": "other"}, {**by_id, "outTrackId": "someone-else"},
                {**by_id, "userId": ""}, {**base, "content": "{"}, {**base, "content": "[]"},
                {**base, "content": json.dumps({"cardPrivateData": {"actionIds": ["x"]}})}):
        assert parse_press(bad) is None, bad


def test_a_card_follows_the_order_through_its_life() -> None:
    assert order_status(ORDER, "") == ("", frozenset())
    claimed = replace(ORDER, state=OrderState.CLAIMED, lead="e1")
    status, dropped = order_status(claimed, "沈国平")
    assert status == "已由沈国平接单"
    assert [label for _, label in shown_buttons(BUTTONS, dropped)] == ["协助", "查询"]
    scheduled = order_status(replace(claimed, state=OrderState.SCHEDULED), "沈国平")
    assert scheduled[0] == "已由沈国平接单，已预约"
    done = order_status(replace(claimed, state=OrderState.COMPLETED), "沈国平")
    assert done[0] == "已由沈国平办结" and [
        label for _, label in shown_buttons(BUTTONS, done[1])] == ["查询"]
    rated = order_status(replace(claimed, state=OrderState.RATED, rating="满意"), "沈国平")
    rating = (("满意", "评价 12 满意"), ("不满意", "评价 12 不满意"))
    assert rated[0] == "已评价：满意" and shown_buttons(rating, rated[1]) == []
    assert order_status(replace(ORDER, state=OrderState.CANCELLED), "")[0] == "已撤销"


def test_delivery_bodies_and_answers_are_shaped_as_the_sdk_builds_them() -> None:
    params = card_params("hi", [])
    group = deliver_body("dd1-x", params, group=True, target="cid1", robot="rc",
                         at={"u1": "沈国平"})
    assert group["openSpaceId"] == "dtv1.card//IM_GROUP.cid1"
    assert group["imGroupOpenDeliverModel"] == {"robotCode": "rc", "atUserIds": {"u1": "沈国平"}}
    assert group["callbackType"] == "STREAM" and group["userIdType"] == 1
    single = deliver_body("dd1-x", params, group=False, target="u1", robot="rc", at={})
    assert single["openSpaceId"] == "dtv1.card//IM_ROBOT.u1"
    assert single["imRobotOpenDeliverModel"]["spaceType"] == "IM_ROBOT"
    assert "imGroupOpenDeliverModel" not in single
    assert callback_answer(None) == {}
    assert callback_answer(params)["cardData"] == {"cardParamMap": params}
    assert refused_deliveries({"success": True, "result": {"deliverResults": [
        {"success": True}]}}) == ""
    assert "gone" in refused_deliveries({"result": {"deliverResults": [
        {"success": False, "errorMsg": "gone"}]}})
    assert refused_deliveries({"success": False}) == "success false"
