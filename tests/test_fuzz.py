"""Property tests: the parser and every platform's payload decoding never raise on anything."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.model import SHANGHAI
from bot.platforms.dingtalk_inbound import to_incoming as dingtalk_incoming
from bot.platforms.wecom_payload import to_incoming as wecom_incoming
from bot.text.parse import INTENTS, mask_phones, parse

CONTRACT = {"is_request", "intent", "enterprise", "contact", "phone", "deadline", "urgent",
            "category", "service_type", "region", "summary"}
WORDS = ["点单", "接单", "协助", "退单", "预约", "进展", "办结", "评价", "撤销", "补充", "查询",
         "服务清单", "帮助", "/指派", "下周三前", "明天下午3点", "联系人吴经理", "13867201234",
         "０５７１－８７６５４３２１", "#12", "已解决", "满意", "焊接变形", "德清", "紧急", "\n",
         "：", "🙂", "<b>", "'; DROP TABLE orders; --", "\x00", "１２", "二十"]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(WORDS) | st.text(max_size=5), max_size=25).map("".join),
)
# Naive bounds are what hypothesis wants; the values it draws carry the Shanghai zone.
moments = st.datetimes(min_value=datetime(2020, 1, 1),  # noqa: DTZ001
                       max_value=datetime(2035, 12, 31),  # noqa: DTZ001
                       timezones=st.just(SHANGHAI))
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids,
                                                              max_size=6),
    max_leaves=20,
)
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@settings(max_examples=400, deadline=None)
@given(texts, moments)
def test_parse_never_raises_and_keeps_the_contract(text: str, now: datetime) -> None:
    p = parse(text, now)
    assert p.intent in INTENTS
    out = p.contract_json()
    assert set(out) == CONTRACT
    assert out["is_request"] == (p.intent in ("new_order", "menu_order"))
    if p.deadline is not None:
        assert now.date() - timedelta(days=400) <= p.deadline <= now.date() + timedelta(days=800)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_masking_leaves_no_mobile_number(text: str) -> None:
    assert not MOBILE.search(mask_phones(text))


def _dingtalk_like() -> st.SearchStrategy[dict[str, Any]]:
    keys = ["conversationId", "conversationType", "msgId", "senderStaffId", "senderNick",
            "text", "msgtype", "createAt", "sessionWebhook", "sessionWebhookExpiredTime",
            "atUsers", "isInAtList", "robotCode", "conversationTitle", "content"]
    return st.dictionaries(st.sampled_from(keys), JSONISH, max_size=len(keys))


def _wecom_like() -> st.SearchStrategy[dict[str, Any]]:
    keys = ["msgid", "aibotid", "chatid", "chattype", "from", "response_url", "msgtype",
            "text", "quote", "mixed", "stream"]
    return st.dictionaries(st.sampled_from(keys), JSONISH, max_size=len(keys))


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSONISH, _dingtalk_like()))
def test_dingtalk_decoding_never_raises(payload: Any) -> None:
    msg = dingtalk_incoming(payload)
    assert msg is None or (msg.platform == "dingtalk" and msg.msg_id)


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSONISH, _wecom_like()))
def test_wecom_decoding_never_raises(payload: Any) -> None:
    msg = wecom_incoming(payload)
    assert msg is None or (msg.platform == "wecom" and msg.msg_id)
