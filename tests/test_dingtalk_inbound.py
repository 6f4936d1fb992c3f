"""DingTalk inbound: to_incoming on recorded robot payloads, reply handles, callback signs."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from bot.model import SHANGHAI, Attachment, ChatKind
from bot.platforms.dingtalk import to_incoming
from bot.platforms.dingtalk_inbound import ReplyHandle, strip_at
from bot.platforms.dingtalk_sign import callback_sign, check_callback

NOW = datetime(2026, 5, 6, 10, 0, tzinfo=SHANGHAI)
NOW_MS = int(NOW.timestamp() * 1000)

GROUP: dict[str, Any] = {
    "conversationId": "cidp8yN0vJ6x2Wb1c3Kx5oQkQ==",
    "atUsers": [{"dingtalkId": "$:LWCP_v1:$Zr8oRobot"}],
    "chatbotCorpId": "ding5f3e0c1a2b",
    "chatbotUserId": "$:LWCP_v1:$Zr8oRobot",
    "msgId": "msgAbq3xIV1y0aP7Q+Z2s9pLA==",
    "senderNick": "吴建国",
    "isAdmin": False,
    "senderStaffId": "0615243327281234",
    "sessionWebhookExpiredTime": NOW_MS + 90 * 60 * 1000,
    "createAt": NOW_MS,
    "senderCorpId": "ding5f3e0c1a2b",
    "conversationType": "2",
    "senderId": "$:LWCP_v1:$kq2WuJg",
    "conversationTitle": "德清县劳模工匠服务群",
    "isInAtList": True,
    "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=3b9f0c2d",
    "text": {"content": " 点单：不锈钢薄板焊接后变形严重，联系人吴经理 13867201234"},
    "robotCode": "dingxk2robot",
    "msgtype": "text",
}

SINGLE: dict[str, Any] = {
    "conversationId": "cidQm1Z6s0Ty2V8w==",
    "chatbotCorpId": "ding5f3e0c1a2b",
    "chatbotUserId": "$:LWCP_v1:$Zr8oRobot",
    "msgId": "msgS1ngle0001==",
    "senderNick": "沈国平",
    "isAdmin": False,
    "senderStaffId": "manager7731",
    "sessionWebhookExpiredTime": NOW_MS + 90 * 60 * 1000,
    "createAt": NOW_MS,
    "conversationType": "1",
    "senderId": "$:LWCP_v1:$pp0Shen",
    "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=77aa01",
    "text": {"content": "我的单"},
    "robotCode": "dingxk2robot",
    "msgtype": "text",
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def test_group_text_becomes_an_incoming_with_its_send_target() -> None:
    msg = to_incoming(GROUP)
    assert msg is not None
    assert (msg.platform, msg.msg_id, msg.chat_id) == ("dingtalk", GROUP["msgId"],
                                                       GROUP["conversationId"])
    assert msg.chat_kind is ChatKind.GROUP and msg.at_bot
    assert msg.sender_id == "0615243327281234" and msg.sender_name == "吴建国"
    assert msg.text.startswith("点单：不锈钢薄板")  # the space left by the @ is gone
    assert msg.chat_title == "德清县劳模工匠服务群"
    assert msg.sent_at == NOW
    handle = ReplyHandle.from_json(msg.reply_handle)
    assert handle.webhook == GROUP["sessionWebhook"] and handle.robot_code == "dingxk2robot"
    assert handle.expires_ms == GROUP["sessionWebhookExpiredTime"] and handle.user == ""
    assert handle.live(NOW) and not handle.live(NOW + timedelta(minutes=91))
    assert msg.account == "dingtalk:0615243327281234"  # the form rosters and admin lists use


def test_single_chat_keeps_the_user_for_proactive_sends() -> None:
    msg = to_incoming(SINGLE)
    assert msg is not None and msg.chat_kind is ChatKind.SINGLE and msg.text == "我的单"
    assert ReplyHandle.from_json(msg.reply_handle).user == "manager7731"
    assert msg.chat_title == ""


def test_rich_text_joins_its_text_parts() -> None:
    payload = _with(GROUP, text=None, msgtype="richText", content={"richText": [
        {"text": " 求助：变频器老是报过流故障"},
        {"pictureDownloadCode": "pdc01", "downloadCode": "dc01", "type": "picture"},
        {"text": "，想请电气师傅看看"},
    ]})
    msg = to_incoming(payload)
    assert msg is not None and msg.text == "求助：变频器老是报过流故障，想请电气师傅看看"


def test_voice_message_uses_its_recognised_text() -> None:
    payload = _with(SINGLE, text=None, msgtype="audio",
                    content={"duration": 4000, "downloadCode": "dcA", "recognition": "待接单"})
    msg = to_incoming(payload)
    assert msg is not None and msg.text == "待接单"
    assert msg.attachments == (Attachment("voice", "", "dcA"),)


def test_pictures_files_voice_and_video_become_attachments_by_their_download_code() -> None:
    picture = to_incoming(_with(GROUP, text=None, msgtype="picture",
                                content={"pictureDownloadCode": "p1", "downloadCode": "d1"}))
    assert picture is not None and picture.text == ""
    assert picture.attachments == (Attachment("image", "", "d1"),)
    rich = to_incoming(_with(GROUP, text=None, msgtype="richText", content={"richText": [
        {"text": " 焊缝开裂，见图"}, {"pictureDownloadCode": "p2", "downloadCode": "d2",
                                    "type": "picture"}, {"downloadCode": "d3"}]}))
    assert rich is not None and rich.text == "焊缝开裂，见图"
    assert [a.ref for a in rich.attachments] == ["d2", "d3"]
    file = to_incoming(_with(SINGLE, text=None, msgtype="file", content={
        "downloadCode": "d4", "fileName": "../图纸/焊接工艺.pdf", "spaceId": "1", "fileId": "2"}))
    assert file is not None
    assert file.attachments == (Attachment("file", "..图纸焊接工艺.pdf", "d4"),)
    voice = to_incoming(_with(SINGLE, text=None, msgtype="audio",
                              content={"duration": 4000, "downloadCode": "d5"}))
    assert voice is not None and voice.text == ""
    assert voice.attachments == (Attachment("voice", "", "d5"),)
    video = to_incoming(_with(SINGLE, text=None, msgtype="video", content={
        "duration": 9, "downloadCode": "d6", "videoType": "mp4"}))
    assert video is not None and video.attachments == (Attachment("video", "", "d6"),)


def test_unusable_payloads_give_none() -> None:
    picture = _with(GROUP, text=None, msgtype="picture", content={"downloadCode": 12.5})
    usage_notice = _with(GROUP, text=None)  # a usage-limit notice: msgtype text, no text
    unknown = _with(GROUP, msgtype="interactiveCard")
    blank = _with(GROUP, text={"content": "   "})
    no_msg_id = _with(GROUP, msgId=None)
    bad_text = _with(GROUP, text="not an object")
    cases: list[Any] = [picture, usage_notice, unknown, blank, no_msg_id, bad_text, [], "x", None]
    for payload in cases:
        assert to_incoming(payload) is None, payload


def test_staff_id_falls_back_to_sender_id_and_numbers_are_read() -> None:
    payload = _with(GROUP, senderStaffId=None, createAt=str(NOW_MS), senderNick=None)
    msg = to_incoming(payload)
    assert msg is not None and msg.sender_id == "$:LWCP_v1:$kq2WuJg"
    assert msg.sender_name == msg.sender_id and msg.sent_at == NOW


def test_quoted_reply_gives_the_quoted_text() -> None:
    payload = _with(GROUP, text={"content": " 接单", "isReplyMsg": True, "repliedMsg": {
        "msgId": "msgBotPost01", "msgType": "text",
        "content": {"text": "已收到点单 #12\n请回复「接单 12」认领"}}})
    msg = to_incoming(payload)
    assert msg is not None and msg.text == "接单"
    assert msg.quote_id == "msgBotPost01" and "#12" in msg.quote_text


def test_leading_at_of_the_bot_is_stripped_but_others_are_kept() -> None:
    assert strip_at(" @匠心点单 查询 12", "匠心点单") == "查询 12"
    assert strip_at(" @沈国平 接单 12", "匠心点单") == "@沈国平 接单 12"
    assert strip_at("  查询 12 ") == "查询 12"


def test_reply_handle_tolerates_garbage() -> None:
    assert ReplyHandle.from_json("") == ReplyHandle()
    assert ReplyHandle.from_json("{not json") == ReplyHandle()
    assert ReplyHandle.from_json("[1]") == ReplyHandle()
    assert not ReplyHandle().live(NOW)


def test_callback_sign_matches_a_known_value_and_checks_time() -> None:
    secret = "test-app-secret"
    ts = str(NOW_MS)
    sign = callback_sign(ts, secret)
    # Computed independently with `openssl dgst -sha256 -hmac` over ts + "\n" + secret.
    assert sign == "Yx9S6Lh07amtpvWclZ6YpeQ9/2iDXnQ8g9UjZL7DuOU="
    assert check_callback(ts, sign, secret, NOW) == ""
    assert check_callback(ts, sign, secret, NOW + timedelta(minutes=59)) == ""
    assert "hour" in check_callback(ts, sign, secret, NOW + timedelta(minutes=61))
    assert "hour" in check_callback(ts, sign, secret, NOW - timedelta(minutes=61))
    assert check_callback(ts, sign, "other-secret", NOW) == "wrong sign"
    assert check_callback(ts, sign[:-2] + "A=", secret, NOW) == "wrong sign"
    assert check_callback(None, sign, secret, NOW).startswith("missing")
    assert check_callback("12ab", sign, secret, NOW).startswith("timestamp")
